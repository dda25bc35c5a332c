import { describe, expect, test } from "bun:test"
import { encodeSse, type SseEventTooLarge, type SseMessage, SseParser } from "@cortexkit/openai-auth-core/Sse"
import { concatBytes, splitAt } from "@cortexkit/openai-auth-testkit/Bytes"
import fc from "fast-check"

const enc = new TextEncoder()
const bytes = (s: string) => enc.encode(s)

const parseAll = (chunks: ReadonlyArray<Uint8Array>, parser = new SseParser()): Array<SseMessage> => {
  const out: Array<SseMessage> = []
  for (const c of chunks) out.push(...parser.push(c))
  out.push(...parser.end())
  return out
}

describe("SseParser", () => {
  test("a Codex-shaped stream", () => {
    const stream = bytes(
      'event: response.created\ndata: {"type":"response.created"}\n\nevent: response.output_text.delta\ndata: {"delta":"hé"}\n\n',
    )
    expect(parseAll([stream])).toEqual([
      { event: "response.created", data: '{"type":"response.created"}' },
      { event: "response.output_text.delta", data: '{"delta":"hé"}' },
    ])
  })

  test("LF, CR and CRLF line endings, also split between CR and LF", () => {
    const expected = [
      { event: "a", data: "1" },
      { event: "b", data: "2" },
    ]
    expect(parseAll([bytes("event: a\ndata: 1\n\nevent: b\ndata: 2\n\n")])).toEqual(expected)
    expect(parseAll([bytes("event: a\rdata: 1\r\revent: b\rdata: 2\r\r")])).toEqual(expected)
    expect(parseAll([bytes("event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n")])).toEqual(expected)
    const crlf = bytes("event: a\r\ndata: 1\r\n\r\nevent: b\r\ndata: 2\r\n\r\n")
    for (let i = 0; i <= crlf.length; i++) expect(parseAll([crlf.subarray(0, i), crlf.subarray(i)])).toEqual(expected)
    // a CR at the end of one chunk followed by a CR line ending in the next is a blank line, not CRLF
    expect(parseAll([bytes("data: x\r"), bytes("\rdata: y\r\r")])).toEqual([{ data: "x" }, { data: "y" }])
  })

  test("comments, retry, unknown fields, a field without colon, id", () => {
    const out = parseAll([bytes(": keepalive\nretry: 100\nfoo: bar\nid: 7\ndata\ndata: x\n\n:only a comment\n\n")])
    expect(out).toEqual([{ data: "\nx", id: "7" }])
  })

  test("multi-line data joins with \\n; one leading space only is stripped", () => {
    expect(parseAll([bytes("data: a\ndata:b\ndata:  c\n\n")])).toEqual([{ data: "a\nb\n c" }])
  })

  test("BOM at the start is ignored, even split across chunks", () => {
    const all = concatBytes([new Uint8Array([0xef, 0xbb, 0xbf]), bytes("data: x\n\n")])
    for (let i = 0; i <= all.length; i++)
      expect(parseAll([all.subarray(0, i), all.subarray(i)])).toEqual([{ data: "x" }])
    // only at the start: a U+FEFF inside a value stays
    expect(parseAll([bytes("data: \uFEFFx\n\n")])).toEqual([{ data: "\uFEFFx" }])
  })

  test("a BOM split across chunks does not count against a tiny event limit (as when unsplit)", () => {
    const all = concatBytes([new Uint8Array([0xef, 0xbb, 0xbf]), bytes("\n\ndata: x\n\n")])
    for (let i = 0; i <= 3; i++) {
      const errors: Array<unknown> = []
      const parser = new SseParser({ maxEventBytes: 1, onError: (e) => errors.push(e) })
      const out = [...parser.push(all.subarray(0, i)), ...parser.push(all.subarray(i)), ...parser.end()]
      // "data: x" is over the limit either way: dropped with one error, never the BOM-only first line
      expect(out).toEqual([])
      expect(errors.length).toBe(1)
    }
  })

  test("UTF-8 characters split across chunks decode intact", () => {
    const text = "zß水🎉"
    const all = bytes(`data: ${text}\n\n`)
    for (let i = 0; i <= all.length; i++)
      for (let j = i; j <= all.length; j++)
        expect(parseAll([all.subarray(0, i), all.subarray(i, j), all.subarray(j)])).toEqual([{ data: text }])
  })

  test("[DONE] is just a message; end() flushes a final event without a blank line", () => {
    expect(parseAll([bytes("data: {}\n\ndata: [DONE]")])).toEqual([{ data: "{}" }, { data: "[DONE]" }])
    expect(parseAll([bytes("event: x\ndata: 1\n")])).toEqual([{ event: "x", data: "1" }])
    expect(parseAll([bytes("event: x\n\n")])).toEqual([])
  })

  test("the caller may reuse its buffer after push", () => {
    const parser = new SseParser()
    const buffer = bytes("data: abc")
    expect(parser.push(buffer)).toEqual([])
    buffer.fill(0x7a)
    expect(parser.push(bytes("\n\n"))).toEqual([{ data: "abc" }])
  })

  test("an event over the limit is dropped as an error value and parsing continues", () => {
    const errors: Array<SseEventTooLarge> = []
    const parser = new SseParser({ maxEventBytes: 64, onError: (e) => errors.push(e) })
    const huge = `data: ${"x".repeat(50)}\ndata: ${"y".repeat(50)}\n\n`
    const long = `data: ${"z".repeat(500)}`
    const stream = bytes(`data: a\n\n${huge}${long}\n\ndata: b\n\n`)
    for (const chunks of [[stream], splitAt(stream, [3, 20, 70, 100, 300, 600, 640])]) {
      errors.length = 0
      expect(parseAll(chunks, new SseParser({ maxEventBytes: 64, onError: (e) => errors.push(e) }))).toEqual([
        { data: "a" },
        { data: "b" },
      ])
      expect(errors.length).toBe(2)
      expect(errors[0]?._tag).toBe("SseEventTooLarge")
    }
    // a line that never ends stays bounded and is reported at end()
    for (let i = 0; i < 100; i++) parser.push(bytes("q".repeat(1000)))
    expect(parser.end()).toEqual([])
    expect(parser.overflowCount).toBe(1)
  })

  test("encodeSse round-trips and cannot inject fields", () => {
    expect(new TextDecoder().decode(encodeSse("e", "d"))).toBe("event: e\ndata: d\n\n")
    expect(parseAll([encodeSse("e\nid: 9", "a\r\nb\rc\nd")])).toEqual([{ event: "eid: 9", data: "a\nb\nc\nd" }])
  })

  test("property: encoded events split at random boundaries parse back identically", () => {
    const event = fc.string({ unit: "grapheme", maxLength: 20 }).filter((s) => !/[\r\n]/.test(s))
    const data = fc.string({ unit: "grapheme", maxLength: 200 }).filter((s) => !s.includes("\r"))
    fc.assert(
      fc.property(
        fc.array(fc.tuple(event, data), { maxLength: 15 }),
        fc.array(fc.nat(), { maxLength: 30 }),
        (events, cuts) => {
          const all = concatBytes(events.map(([e, d]) => encodeSse(e, d)))
          const parsed = parseAll(splitAt(all, cuts))
          expect(parsed).toEqual(events.map(([e, d]) => ({ event: e, data: d })))
        },
      ),
      { numRuns: 300 },
    )
  })

  test("property: random bytes never throw and parse the same however they are split", () => {
    const alphabet = fc.constantFrom(0x0a, 0x0d, 0x3a, 0x20, 0x64, 0x61, 0x74, 0xef, 0xbb, 0xbf, 0xf0, 0x9f, 0x80, 0x00)
    const chunk = fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.array(alphabet, { maxLength: 200 }).map((a) => new Uint8Array(a)),
    )
    fc.assert(
      fc.property(
        chunk,
        fc.array(fc.nat(), { maxLength: 20 }),
        fc.integer({ min: 4, max: 128 }),
        (all, cuts, limit) => {
          const whole = parseAll([all], new SseParser({ maxEventBytes: limit }))
          expect(parseAll(splitAt(all, cuts), new SseParser({ maxEventBytes: limit }))).toEqual(whole)
        },
      ),
      { numRuns: 500 },
    )
  })
})
