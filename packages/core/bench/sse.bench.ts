/**
 * The SSE observer against the least any pass-through proxy does: an identity `TransformStream`. A realistic
 * 10,000-event Codex stream (reasoning summary + text deltas + a tool call, completed with usage) is cut into
 * 4 KB chunks and drained through both, interleaved. Also the arrangement the HTTP transport uses (one
 * pull-based stage calling `SseBodyObserver` inline) against the same stage without it, and the raw parser's
 * throughput (every event decoded).
 */
import { encodeSse, SseParser } from "@cortexkit/openai-auth-core/Sse"
import { SseBodyObserver } from "@cortexkit/openai-auth-core/SseObserver"
import type { StreamEvent } from "@cortexkit/openai-auth-core/StreamEvent"
import { atLeast, atMost, type Bench, compare, figure, median, sample } from "@cortexkit/openai-auth-testkit/Bench"
import { concatBytes } from "@cortexkit/openai-auth-testkit/Bytes"
import { observeSse } from "../test/support/observeSse.ts"

const EVENTS = 10_000
const CHUNK = 4096

const words = ["the", "model", "writes", "some", "text", "über", "naïve", "代码", "🙂", "function", "value", "return"]

const realisticStream = (): Uint8Array => {
  const parts: Array<Uint8Array> = []
  let seq = 0
  const push = (type: string, body: Record<string, unknown>) =>
    parts.push(encodeSse(type, JSON.stringify({ type, sequence_number: seq++, ...body })))
  const response = { id: "resp_0a1b2c3d4e5f", object: "response", created_at: 1780000000, status: "in_progress" }
  push("response.created", { response })
  push("response.in_progress", { response })
  push("response.output_item.added", { output_index: 0, item: { id: "rs_1", type: "reasoning", summary: [] } })
  const deltas = EVENTS - 9
  for (let i = 0; i < deltas; i++) {
    const delta = `${words[i % words.length]} `
    if (i < deltas / 4)
      push("response.reasoning_summary_text.delta", {
        item_id: "rs_1",
        output_index: 0,
        summary_index: 0,
        delta,
        obfuscation: "k3Jd9",
      })
    else
      push("response.output_text.delta", {
        item_id: "msg_1",
        output_index: 1,
        content_index: 0,
        delta,
        logprobs: [],
        obfuscation: "a8Fq",
      })
  }
  push("response.output_item.done", {
    output_index: 1,
    item: { id: "msg_1", type: "message", role: "assistant", content: [{ type: "output_text", text: "…" }] },
  })
  push("response.output_item.added", {
    output_index: 2,
    item: { id: "fc_1", type: "function_call", name: "read", call_id: "call_1", arguments: "" },
  })
  push("response.function_call_arguments.delta", { item_id: "fc_1", output_index: 2, delta: '{"path":"a.ts"}' })
  push("response.function_call_arguments.done", { item_id: "fc_1", output_index: 2, arguments: '{"path":"a.ts"}' })
  push("response.output_item.done", {
    output_index: 2,
    item: { id: "fc_1", type: "function_call", name: "read", call_id: "call_1", arguments: '{"path":"a.ts"}' },
  })
  push("response.completed", {
    response: {
      ...response,
      status: "completed",
      usage: {
        input_tokens: 12000,
        input_tokens_details: { cached_tokens: 11000 },
        output_tokens: 9990,
        output_tokens_details: { reasoning_tokens: 2000 },
        total_tokens: 21990,
      },
    },
  })
  return concatBytes(parts)
}

const drain = async (chunks: ReadonlyArray<Uint8Array>, transform: TransformStream<Uint8Array, Uint8Array>) => {
  let index = 0
  const source = new ReadableStream<Uint8Array>({
    pull(controller) {
      const chunk = chunks[index++]
      if (chunk === undefined) controller.close()
      else controller.enqueue(chunk)
    },
  })
  const reader = source.pipeThrough(transform).getReader()
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.length
  }
  return bytes
}

/** one pull-based stage over the chunks, as the commit point after the commit; `observer` called inline */
const drainInline = async (chunks: ReadonlyArray<Uint8Array>, observer?: SseBodyObserver) => {
  let index = 0
  const stage = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[index++]
        if (chunk === undefined) {
          controller.close()
          if (observer !== undefined) queueMicrotask(() => observer.end(true))
          return
        }
        controller.enqueue(chunk)
        observer?.push(chunk)
      },
    },
    { highWaterMark: 0 },
  )
  const reader = stage.getReader()
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    bytes += value.length
  }
  // the terminal event is reported in the microtask after the close: wait for it, it is part of the cost
  await Promise.resolve()
  return bytes
}

const bench: Bench = async () => {
  const all = realisticStream()
  const chunks: Array<Uint8Array> = []
  for (let i = 0; i < all.length; i += CHUNK) chunks.push(all.subarray(i, i + CHUNK))
  const mb = all.length / 1e6

  let terminal = 0
  const listener = (e: StreamEvent) => {
    if (e._tag === "Terminal" && e.outcome === "completed") terminal++
  }
  const identity = () => drain(chunks, new TransformStream<Uint8Array, Uint8Array>())
  const observed = () => drain(chunks, observeSse(listener))
  const result = await compare(identity, observed, { samples: 60, warmup: 15 })
  if (terminal === 0) throw new Error("the observer never saw response.completed")
  // The floor for any observer that must see every byte: a JS transform doing one native byte search.
  let sink = 0
  const touch = () =>
    drain(
      chunks,
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          controller.enqueue(chunk)
          sink += chunk.indexOf(0x7e)
        },
      }),
    )
  const floor = await compare(identity, touch, { samples: 60, warmup: 15 })
  const before = terminal
  const inline = await compare(
    () => drainInline(chunks),
    () => drainInline(chunks, new SseBodyObserver(listener)),
    { samples: 60, warmup: 15 },
  )
  if (terminal === before) throw new Error("the inline observer never saw response.completed")
  if (sink === 1) throw new Error("unreachable")

  const parse = await sample(
    () => {
      const parser = new SseParser()
      let n = 0
      for (const c of chunks) n += parser.push(c).length
      n += parser.end().length
      if (n !== EVENTS) throw new Error(`parsed ${n} events, expected ${EVENTS}`)
    },
    { samples: 40, warmup: 10 },
  )
  const identityMBs = mb / (result.baseline / 1000)
  const observedMBs = mb / (result.candidate / 1000)
  return {
    name: "sse",
    figures: [
      figure("identity_mb_s", "identity TransformStream", identityMBs, "MB/s"),
      figure("observer_mb_s", "observeSse", observedMBs, "MB/s"),
      figure(
        "observer_throughput_ratio",
        "observeSse / identity throughput",
        observedMBs / identityMBs,
        "x",
        atLeast(0.8),
      ),
      // an in-memory stage drains 2 MB in well under 0.1 ms, so a ratio would make microseconds look large:
      // what counts is the time the observer adds per stream, set against a real stream's milliseconds
      figure(
        "inline_added_us",
        "SseBodyObserver inline in one pull stage (the HTTP path): added time per stream",
        (inline.candidate - inline.baseline) * 1000,
        "us",
        atMost(100),
      ),
      figure("inline_stage_us", "the same pull stage alone, per stream", inline.baseline * 1000, "us"),
      figure(
        "one_pass_floor_ratio",
        "JS transform + one indexOf per chunk / identity",
        floor.baseline / floor.candidate,
        "x",
      ),
      figure("parser_mb_s", "SseParser (every event decoded)", mb / (median(parse) / 1000), "MB/s"),
    ],
    notes: [`${EVENTS} events, ${(all.length / 1024).toFixed(0)} KiB in ${chunks.length} chunks of ${CHUNK} B`],
  }
}

export default bench
