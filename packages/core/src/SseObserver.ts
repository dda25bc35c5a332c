/**
 * Watches a Codex response stream on the side. The bytes go through untouched and at once; what the stream
 * says is reported to a listener as `StreamEvent`s.
 *
 * One implementation serves both transports: SSE bodies go through `SseBodyObserver` (inline, called by the
 * stage that moves the bytes), WebSocket frames (already parsed JSON) through `StreamObserver.event`, one
 * observer per response (`internal/stream-observer.ts`, where the FirstOutput rule is written down).
 */
import { parseData, readTail, TailWindow } from "./internal/sse-tail.ts"
import { StreamObserver } from "./internal/stream-observer.ts"
import { type SseMessage, SseParser, type SseParserOptions } from "./Sse.ts"
import type { StreamEventListener } from "./StreamEvent.ts"

export { StreamObserver } from "./internal/stream-observer.ts"

export interface ObserverOptions {
  /** epoch ms clock for quota readings and reset hints; default `Date.now` */
  readonly now?: () => number
  readonly maxEventBytes?: number
  /** bytes kept after the first output for the end-of-stream walk (default 32 MiB); older chunks are let go */
  readonly tailBytes?: number
}

/** default bound on the bytes kept for the end-of-stream walk; a `response.completed` repeats the whole answer */
export const DEFAULT_TAIL_BYTES = 32 * 1024 * 1024

/**
 * The SSE observer for one response body, driven by whoever moves the bytes: `push` every chunk (after it
 * was handed on, so observing adds no latency), then `end` once.
 *
 * Until the id and first output are seen every line is parsed (the prefix is short, and a failure there
 * must be known at once so the attempt can still be retried). From then on the observer is off the byte
 * path: everything it still has to report is terminal and so comes last, so chunks are only kept by
 * reference (`internal/sse-tail.ts`) and at the end of the stream (close, upstream error or cancel) the
 * last events are found by walking backwards from the end and parsed. `codex.rate_limits` after the first
 * output is not looked for on this path: the HTTP backend does not send it (it arrives as WebSocket frames,
 * which go through `StreamObserver.event`).
 *
 * Nothing here throws: a bug on the side must not break the byte flow.
 */
export class SseBodyObserver {
  private readonly observer: StreamObserver
  private readonly parser: SseParser
  private readonly window: TailWindow
  private readonly maxEventBytes: number | undefined
  /** tail mode: nothing looks at the bytes until the end */
  private tail = false
  private ended = false

  constructor(listener: StreamEventListener, options: ObserverOptions = {}) {
    this.observer = new StreamObserver(listener, options.now === undefined ? {} : { now: options.now })
    this.maxEventBytes = options.maxEventBytes
    this.parser = new SseParser(this.parserOptions(true))
    this.window = new TailWindow(options.tailBytes ?? DEFAULT_TAIL_BYTES)
  }

  private parserOptions(streamStart: boolean): SseParserOptions {
    return {
      decodeData: this.wants,
      streamStart,
      ...(this.maxEventBytes === undefined ? {} : { maxEventBytes: this.maxEventBytes }),
    }
  }

  private readonly wants = (type: string): boolean => this.observer.wants(type)

  private take(message: SseMessage): void {
    // `event:` names let most deltas be skipped without decoding or JSON parsing.
    if (message.event !== undefined && !this.observer.wants(message.event)) return
    const json = parseData(message)
    if (json !== undefined) this.observer.event(json)
  }

  /** parse mode: reads up to the event that settles (or ends) the response */
  private readonly settles = (message: SseMessage): boolean => {
    this.take(message)
    return this.observer.done || this.observer.settled
  }

  /** One chunk of the body. In tail mode this is one push and a comparison. */
  push(chunk: Uint8Array): void {
    if (this.tail) {
      if (chunk.length > 0) this.window.add(chunk)
      return
    }
    if (this.ended || this.observer.done || chunk.length === 0) return
    try {
      const window = this.window
      window.add(chunk)
      const stop = this.parser.pushUntil(chunk, this.settles)
      if (this.observer.done) return
      if (stop === -1) {
        // keep only the parser's open event
        window.setFloor(this.parser.eventStart)
        return
      }
      // the rest of this chunk is left to the backward walk, which must not step back past this point
      window.setFloor(window.end - chunk.length + stop)
      this.tail = true
    } catch {
      // see the class comment
    }
  }

  /**
   * The body ended: `complete` when it closed normally, false after an upstream error or a cancel. Reports
   * what is left (in tail mode the walk back over the last events) and, without a terminal event, `dropped`.
   * Only the first call counts.
   */
  end(complete: boolean): void {
    if (this.ended) return
    this.ended = true
    const observer = this.observer
    try {
      if (this.tail) {
        const tail = readTail(this.window, complete, this.wants, this.parserOptions(false))
        for (const json of tail.events) {
          observer.event(json)
          if (observer.done) break
        }
        if (tail.lost !== undefined) observer.end(tail.lost)
      } else if (complete) {
        for (const message of this.parser.end()) {
          if (observer.done) break
          this.take(message)
        }
      }
    } catch {
      // see the class comment
    }
    observer.end()
  }
}
