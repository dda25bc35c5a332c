/**
 * `SseBodyObserver` as a pass-through `TransformStream`: the reference the inline stage is checked against in
 * tests and benches (the product calls the observer from the stage that moves the bytes, so it ships no
 * stream of its own).
 */
import { type ObserverOptions, SseBodyObserver } from "@cortexkit/openai-auth-core/SseObserver"
import type { StreamEventListener } from "@cortexkit/openai-auth-core/StreamEvent"

export const observeSse = (
  listener: StreamEventListener,
  options: ObserverOptions = {},
): TransformStream<Uint8Array, Uint8Array> => {
  const body = new SseBodyObserver(listener, options)
  // `cancel` (WHATWG 2023) runs on an upstream abort or a reader cancel; Bun supports it, the DOM lib types lag.
  const transformer: Transformer<Uint8Array, Uint8Array> & { cancel: (reason: unknown) => void } = {
    transform(chunk, controller) {
      controller.enqueue(chunk)
      body.push(chunk)
    },
    flush() {
      body.end(true)
    },
    // upstream error (pipeThrough aborts the writable) or the reader cancelling
    cancel() {
      body.end(false)
    },
  }
  return new TransformStream<Uint8Array, Uint8Array>(transformer)
}
