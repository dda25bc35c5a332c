import { describe, expect, test } from "bun:test"
import { SseParser } from "@cortexkit/openai-auth-core/Sse"
import { observeSse, StreamObserver } from "@cortexkit/openai-auth-core/SseObserver"
import type { StreamEvent } from "@cortexkit/openai-auth-core/StreamEvent"
import fc from "fast-check"

const NOW = 1_780_000_000_000
const enc = new TextEncoder()

/** The straightforward observer: every line parsed, every wanted event decoded. */
const reference = (all: Uint8Array, maxEventBytes?: number): Array<StreamEvent> => {
  const events: Array<StreamEvent> = []
  const observer = new StreamObserver((e) => events.push(e), { now: () => NOW })
  const parser = new SseParser(maxEventBytes === undefined ? {} : { maxEventBytes })
  for (const m of [...parser.push(all), ...parser.end()]) {
    if (observer.done) break
    if (m.event !== undefined && !observer.wants(m.event)) continue
    let json: unknown
    try {
      json = JSON.parse(m.data)
    } catch {
      continue
    }
    observer.event(json)
  }
  observer.end()
  return events
}

const fast = async (chunks: ReadonlyArray<Uint8Array>, maxEventBytes?: number) => {
  const events: Array<StreamEvent> = []
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c)
      controller.close()
    },
  })
  const out: Array<Uint8Array> = []
  const options = maxEventBytes === undefined ? { now: () => NOW } : { now: () => NOW, maxEventBytes }
  for await (const c of source.pipeThrough(observeSse((e) => events.push(e), options))) out.push(c)
  return { events, out }
}

const splitAt = (all: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const sorted = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let prev = 0
  for (const c of sorted) {
    out.push(all.subarray(prev, c))
    prev = c
  }
  out.push(all.subarray(prev))
  return out
}

const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15, input_tokens_details: { cached_tokens: 3 } }
const TYPES = [
  "response.created",
  "response.in_progress",
  "response.output_text.delta",
  "response.reasoning_summary_text.delta",
  "response.output_item.added",
  "response.output_item.done",
  "response.completed",
  "response.incomplete",
  "response.failed",
  "response.done",
  "error",
  "codex.rate_limits",
  "keepalive",
]
// delta text that looks like markers: false positives must stay harmless
const TEXT = ["hi", 'error"', "complete", "response.done", '"error"', "rate_limits", "failed", "é水🎉", ""]

const body = (type: string, text: string, id: string): Record<string, unknown> => {
  switch (type) {
    case "response.created":
    case "response.in_progress":
      return { type, response: { id } }
    case "response.output_item.added":
      return { type, item: { type: text === "hi" ? "function_call" : "message", content: [] } }
    case "response.output_item.done":
      return { type, item: { type: "message", content: [{ text }] } }
    case "response.completed":
    case "response.incomplete":
    case "response.done":
      return { type, response: { id, usage } }
    case "response.failed":
      return { type, response: { id, error: { code: "server_error", message: text } } }
    case "error":
      return { type, code: "server_is_overloaded", message: text }
    case "codex.rate_limits":
      return { type, rate_limits: { primary: { used_percent: 20, window_minutes: 300 } } }
    default:
      return { type, delta: text }
  }
}

const eventArb = fc.record({
  type: fc.constantFrom(...TYPES),
  text: fc.constantFrom(...TEXT),
  // event line: none, the same type, or a different one
  name: fc.constantFrom("none", "same", "same", "delta"),
  eol: fc.constantFrom("\n", "\r\n", "\r"),
  spaced: fc.boolean(),
  split: fc.boolean(),
  comment: fc.boolean(),
})

const render = (
  events: ReadonlyArray<{
    type: string
    text: string
    name: string
    eol: string
    spaced: boolean
    split: boolean
    comment: boolean
  }>,
) => {
  let s = ""
  for (const [i, e] of events.entries()) {
    const json = JSON.stringify(body(e.type, e.text, `resp_${i}`), null, e.spaced ? 1 : undefined)
    if (e.comment) s += `: ping${e.eol}`
    if (e.name === "same") s += `event: ${e.type}${e.eol}`
    else if (e.name === "delta") s += `event: response.output_text.delta${e.eol}`
    // pretty-printed JSON spreads over several data lines (string tokens never contain a line break)
    const lines = e.split || e.spaced ? json.split("\n") : [json]
    for (const line of lines) s += `data: ${line}${e.eol}`
    s += e.eol
  }
  return s
}

describe("observeSse skip mode against the full parser", () => {
  test("property: the same events as the straightforward observer, however the stream is cut", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(eventArb, { maxLength: 25 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        fc.boolean(),
        async (events, cuts, unterminated) => {
          // a realistic start so that skip mode engages early
          const prefix = [
            {
              type: "response.created",
              text: "",
              name: "same",
              eol: "\n",
              spaced: false,
              split: false,
              comment: false,
            },
            {
              type: "response.output_text.delta",
              text: "hi",
              name: "same",
              eol: "\n",
              spaced: false,
              split: false,
              comment: false,
            },
          ]
          let text = render([...prefix, ...events])
          if (unterminated) text = text.replace(/(\r\n|\r|\n)+$/, "")
          const all = enc.encode(text)
          const chunks = splitAt(all, cuts)
          const { events: got, out } = await fast(chunks)
          expect(out.length).toBe(chunks.length)
          for (const [i, c] of out.entries()) expect(c).toBe(chunks[i] as Uint8Array)
          expect(got).toEqual(reference(all))
        },
      ),
      { numRuns: 400 },
    )
  })

  test("property: random bytes with markers sprinkled in never throw and agree with the full parser", async () => {
    const pieces = fc.constantFrom(
      "\n",
      "\r",
      "\r\n",
      "data: ",
      "event: ",
      "event: error",
      ":",
      '{"type":"error"}',
      '{"type":"response.completed","response":{"id":"r"}}',
      '{"type":"response.output_text.delta","delta":"x"}',
      '{"type":"response.created","response":{"id":"r"}}',
      '"error"',
      "complete",
      "x",
      "\uFEFF",
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(pieces, { maxLength: 60 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        async (parts, cuts) => {
          const all = enc.encode(parts.join(""))
          const { events } = await fast(splitAt(all, cuts))
          expect(events).toEqual(reference(all))
        },
      ),
      { numRuns: 400 },
    )
  })

  test("a terminal event after many skipped chunks, its marker split inside, with CRLF", async () => {
    let text = 'event: response.created\r\ndata: {"type":"response.created","response":{"id":"r1"}}\r\n\r\n'
    for (let i = 0; i < 2000; i++)
      text += `event: response.output_text.delta\r\ndata: {"type":"response.output_text.delta","delta":"w${i}"}\r\n\r\n`
    text += `data: {"type":"response.completed","response":{"id":"r1","usage":${JSON.stringify(usage)}}}\r\n\r\n`
    const all = enc.encode(text)
    const marker = text.lastIndexOf("complete") + 3
    for (const size of [1, 7, 4096]) {
      const cuts = [marker]
      for (let i = size; i < all.length; i += size) cuts.push(i)
      const { events } = await fast(splitAt(all, cuts))
      expect(events.map((e) => e._tag)).toEqual(["ResponseId", "FirstOutput", "Usage", "Terminal"])
      expect(events).toEqual(reference(all))
    }
  })
})
