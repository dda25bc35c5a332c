import { describe, expect, test } from "bun:test"
import { SseParser } from "@cortexkit/openai-auth-core/Sse"
import { StreamObserver } from "@cortexkit/openai-auth-core/SseObserver"
import type { StreamEvent } from "@cortexkit/openai-auth-core/StreamEvent"
import { splitAt } from "@cortexkit/openai-auth-testkit/Bytes"
import fc from "fast-check"
import { observeSse } from "./support/observeSse.ts"

const NOW = 1_780_000_000_000
const enc = new TextEncoder()

/** The straightforward observer: every line parsed, every wanted event decoded. */
const reference = (all: Uint8Array, maxEventBytes?: number, closed = true): Array<StreamEvent> => {
  const events: Array<StreamEvent> = []
  const observer = new StreamObserver((e) => events.push(e), { now: () => NOW })
  const parser = new SseParser(maxEventBytes === undefined ? {} : { maxEventBytes })
  // an upstream error ends the stream without `end()`: an event not closed by its blank line never counts
  for (const m of [...parser.push(all), ...(closed ? parser.end() : [])]) {
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

const fast = async (
  chunks: ReadonlyArray<Uint8Array>,
  maxEventBytes?: number,
  extra: { readonly fail?: boolean; readonly tailBytes?: number } = {},
) => {
  const events: Array<StreamEvent> = []
  let index = 0
  // pulled one by one: `error()` would discard chunks still queued, and they must reach the observer first
  const source = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[index++]
        if (chunk !== undefined) controller.enqueue(chunk)
        else if (extra.fail === true) controller.error(new Error("socket hang up"))
        else controller.close()
      },
    },
    { highWaterMark: 0 },
  )
  const out: Array<Uint8Array> = []
  const options = {
    now: () => NOW,
    ...(maxEventBytes === undefined ? {} : { maxEventBytes }),
    ...(extra.tailBytes === undefined ? {} : { tailBytes: extra.tailBytes }),
  }
  let failed: unknown
  try {
    for await (const c of source.pipeThrough(observeSse((e) => events.push(e), options))) out.push(c)
  } catch (error) {
    failed = error
  }
  if (failed !== undefined && extra.fail !== true) throw failed
  return { events, out, failed }
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

type Ev = {
  type: string
  text: string
  name: string
  eol: string
  spaced: boolean
  split: boolean
  comment: boolean
}

const TERMINALS = new Set(["response.completed", "response.incomplete", "response.failed", "response.done", "error"])
/**
 * After the first output only terminal events still matter, and a terminal event is the last one a server
 * sends; `codex.rate_limits` never comes over HTTP. So the middle of a stream holds neither (a terminal type
 * under a delta's `event:` name is ignored by both observers, so that may sit anywhere) ...
 */
const middleArb = eventArb.filter(
  (e) => e.name === "delta" || (!TERMINALS.has(e.type) && e.type !== "codex.rate_limits"),
)
/** ... and the end is zero to two terminal events (the first one wins) and maybe what some servers add after */
const endArb = fc.array(
  eventArb.filter((e) => e.name !== "delta" && (TERMINALS.has(e.type) || e.type === "codex.rate_limits")),
  { maxLength: 2 },
)
const junkArb = fc.array(fc.constantFrom(": ping\n\n", "data: [DONE]\n\n", "\r\n", "event: keepalive\n\n"), {
  maxLength: 2,
})

const start: Array<Ev> = [
  { type: "response.created", text: "", name: "same", eol: "\n", spaced: false, split: false, comment: false },
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

const streamArb = fc.record({
  middle: fc.array(middleArb, { maxLength: 40 }),
  end: endArb,
  junk: junkArb,
  unterminated: fc.boolean(),
})

const renderStream = (s: { middle: Array<Ev>; end: Array<Ev>; junk: Array<string>; unterminated: boolean }) => {
  let text = render([...start, ...s.middle, ...s.end]) + s.junk.join("")
  if (s.unterminated) text = text.replace(/(\r\n|\r|\n)+$/, "")
  return enc.encode(text)
}

describe("observeSse tail mode against the full parser", () => {
  test("property: the same events as the straightforward observer, however the stream is cut", async () => {
    await fc.assert(
      fc.asyncProperty(streamArb, fc.array(fc.nat(), { maxLength: 40 }), async (stream, cuts) => {
        const all = renderStream(stream)
        const chunks = splitAt(all, cuts)
        const { events: got, out } = await fast(chunks)
        expect(out.length).toBe(chunks.length)
        for (const [i, c] of out.entries()) expect(c).toBe(chunks[i] as Uint8Array)
        expect(got).toEqual(reference(all))
        expect(got.at(-1)?._tag).toBe("Terminal")
      }),
      { numRuns: 400 },
    )
  })

  test("property: an upstream error anywhere reports what the full parser saw, else dropped", async () => {
    await fc.assert(
      fc.asyncProperty(streamArb, fc.array(fc.nat(), { maxLength: 20 }), fc.nat(), async (stream, cuts, at) => {
        const all = renderStream(stream)
        const prefix = all.subarray(0, at % (all.length + 1))
        const { events, failed } = await fast(splitAt(prefix, cuts), undefined, { fail: true })
        expect(failed).toBeInstanceOf(Error)
        const expected = reference(prefix, undefined, false)
        expect(events).toEqual(expected)
        const last = events.at(-1)
        expect(last?._tag).toBe("Terminal")
        // without a terminal event closed by its blank line, the attempt is dropped
        if (last?._tag === "Terminal" && last.outcome === "dropped") expect(last.failure?._tag).toBe("Transient")
      }),
      { numRuns: 300 },
    )
  })

  test("property: huge terminal events (the whole answer repeated), marker words inside, cut anywhere", async () => {
    const piece = fc.constantFrom('error"', "complete", "response.done", "\n\n", "\r\n", "data: ", "é水🎉", "word ")
    await fc.assert(
      fc.asyncProperty(
        fc.array(piece, { minLength: 1, maxLength: 8 }),
        fc.integer({ min: 1_000, max: 60_000 }),
        fc.constantFrom("\n", "\r\n", "\r"),
        fc.constantFrom("response.completed", "response.incomplete", "response.failed"),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 12 }),
        async (pieces, repeat, eol, type, named, cuts) => {
          const answer = pieces.join("").repeat(Math.ceil(repeat / pieces.join("").length))
          const head = render([...start, ...start.slice(1).map((e) => ({ ...e, eol, text: answer.slice(0, 500) }))])
          const body = {
            type,
            response: {
              id: "resp_0",
              output: [{ type: "message", content: [{ type: "output_text", text: answer }] }],
              usage,
              ...(type === "response.failed" ? { error: { code: "server_error", message: "x" } } : {}),
            },
          }
          const tail = `${named ? `event: ${type}${eol}` : ""}data: ${JSON.stringify(body)}${eol}${eol}`
          const all = enc.encode(head + tail)
          // cuts land all over, including inside the terminal event
          const spread = cuts.map((c) => all.length - 1 - (c % Math.min(all.length, tail.length * 2)))
          const { events } = await fast(splitAt(all, spread))
          expect(events).toEqual(reference(all))
          expect(events.at(-1)).toMatchObject({ _tag: "Terminal", outcome: type.slice("response.".length) })
        },
      ),
      { numRuns: 40 },
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
