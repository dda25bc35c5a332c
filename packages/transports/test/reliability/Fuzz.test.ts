/**
 * Hostile server bytes for the raw WebSocket client: the frame decoder and the upgrade-response parser. Every
 * input ends in delivered messages, a close, or exactly one protocol error, whatever the chunking.
 */
import { describe, expect, test } from "bun:test"
import { FrameDecoder } from "@cortexkit/openai-auth-transports/FrameDecoder"
import { acceptFor, HandshakeParser, type HandshakeResult } from "@cortexkit/openai-auth-transports/Handshake"
import fc from "fast-check"
import { concatBytes, fuzz, splitAt } from "../../../core/test/reliability/fuzz.ts"

type Event = readonly [string, ...Array<unknown>]

const decodeAll = (chunks: ReadonlyArray<Uint8Array>, maxMessageBytes = 1 << 16) => {
  const events: Array<Event> = []
  let terminal = 0
  const record = (event: Event) => {
    if (terminal > 0) events.push(["AFTER_TERMINAL", event[0]])
    if (event[0] === "close" || event[0] === "error") terminal++
    events.push(event)
  }
  const decoder = new FrameDecoder(
    {
      onText: (t) => record(["text", t]),
      onBinary: (b) => record(["binary", Array.from(b)]),
      onPing: (p) => record(["ping", Array.from(p)]),
      onPong: (p) => record(["pong", Array.from(p)]),
      onClose: (code, reason) => record(["close", code, reason]),
      onError: (code, message) => record(["error", code, message]),
    },
    { maxMessageBytes },
  )
  for (const c of chunks) decoder.push(c)
  return { events, terminal, decoder }
}

/** an unmasked server frame; `len` overrides the declared length (hostile headers) */
const frame = (b0: number, payload: Uint8Array, lenOverride?: number) => {
  const len = lenOverride ?? payload.length
  const head: Array<number> = [b0]
  if (len < 126) head.push(len)
  else if (len < 65536) head.push(126, len >> 8, len & 0xff)
  else {
    const high = Math.floor(len / 0x100000000)
    head.push(127, high >>> 24, (high >>> 16) & 0xff, (high >>> 8) & 0xff, high & 0xff)
    head.push(len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff)
  }
  return concatBytes([Uint8Array.from(head), payload])
}

const enc = new TextEncoder()

/** valid and invalid frames mixed: opcodes, FIN/RSV bits, masks, close payloads, huge lengths */
const frameArb = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }).map((t) => frame(0x81, enc.encode(t))) },
  {
    weight: 2,
    arbitrary: fc
      .record({ b0: fc.integer({ min: 0, max: 255 }), payload: fc.uint8Array({ maxLength: 140 }) })
      .map(({ b0, payload }) => frame(b0, payload)),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 20 }).map((p) => frame(0x89, p.subarray(0, 125))) },
  {
    weight: 1,
    arbitrary: fc
      .record({ code: fc.integer({ min: 0, max: 5000 }), reason: fc.uint8Array({ maxLength: 20 }) })
      .map(({ code, reason }) => frame(0x88, concatBytes([Uint8Array.of(code >> 8, code & 0xff), reason]))),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(2 ** 53 - 1, 2 ** 63, 2 ** 32, 70_000).map((len) => frame(0x82, new Uint8Array(4), len)),
  },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 12 }) },
)

/** fragmented text messages split at arbitrary code-unit boundaries (through multi-byte characters) */
const fragmented = fc
  .record({ text: fc.string({ unit: "grapheme", maxLength: 40 }), cuts: fc.array(fc.nat(), { maxLength: 4 }) })
  .map(({ text, cuts }) => {
    const parts = splitAt(enc.encode(text), cuts)
    return {
      text,
      bytes: concatBytes(parts.map((p, i) => frame((i === parts.length - 1 ? 0x80 : 0) | (i === 0 ? 0x1 : 0x0), p))),
    }
  })

describe("fuzz: FrameDecoder", () => {
  test("any frame soup, any chunking: same events, at most one terminal event and nothing after it", () => {
    fuzz(
      "FrameDecoder (frame soup x chunking)",
      fc.record({ frames: fc.array(frameArb, { maxLength: 12 }), cuts: fc.array(fc.nat(), { maxLength: 10 }) }),
      ({ frames, cuts }) => {
        const bytes = concatBytes(frames)
        const whole = decodeAll([bytes])
        const chunked = decodeAll(splitAt(bytes, cuts))
        const bytewise = decodeAll(Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)))
        expect(chunked.events).toEqual(whole.events)
        expect(bytewise.events).toEqual(whole.events)
        expect(whole.terminal).toBeLessThanOrEqual(1)
        for (const e of whole.events) if (e[0] === "error") expect(String(e[2]).length).toBeGreaterThan(0)
        return whole.events.some((e) => e[0] === "error") ? "error" : "value"
      },
      { numRuns: 3000 },
    )
  }, 120_000)

  test("fragmented text with interleaved pings arrives whole, however it is chunked", () => {
    fuzz(
      "FrameDecoder (fragmented text + pings)",
      fc.record({
        messages: fc.array(fragmented, { minLength: 1, maxLength: 5 }),
        cuts: fc.array(fc.nat(), { maxLength: 10 }),
      }),
      ({ messages, cuts }) => {
        const bytes = concatBytes(messages.flatMap((m) => [m.bytes, frame(0x89, Uint8Array.of(1))]))
        const { events } = decodeAll(splitAt(bytes, cuts))
        expect(events.filter((e) => e[0] === "text").map((e) => e[1])).toEqual(messages.map((m) => m.text))
        expect(events.filter((e) => e[0] === "ping")).toHaveLength(messages.length)
        return "value"
      },
      { numRuns: 2000 },
    )
  }, 120_000)
})

const WS_KEY = "dGhlIHNhbXBsZSBub25jZQ=="
const HS_TOKENS = [
  "HTTP/1.1 101 Switching Protocols\r\n",
  "HTTP/1.1 429 Too Many Requests\r\n",
  "HTTP/1.0 500 x\r\n",
  "Upgrade: websocket\r\n",
  "Connection: Upgrade\r\n",
  `Sec-WebSocket-Accept: ${acceptFor(WS_KEY)}\r\n`,
  "Sec-WebSocket-Accept: bogus\r\n",
  "Content-Length: 5\r\n",
  "Content-Length: -1\r\n",
  "Transfer-Encoding: chunked\r\n",
  "Sec-WebSocket-Extensions: permessage-deflate\r\n",
  "\r\n",
  "5\r\nhello\r\n0\r\n\r\n",
  "zz\r\n",
  ":",
  "\r",
  "\n",
]

const handshake = (chunks: ReadonlyArray<Uint8Array>, close: boolean): HandshakeResult | "pending" => {
  const parser = new HandshakeParser(WS_KEY)
  for (let i = 0; i < chunks.length; i++) {
    const result = parser.push(chunks[i] as Uint8Array)
    // after an upgrade the caller feeds later chunks to the frame decoder: the frame stream is rest + them
    if (result?._tag === "Upgraded") return { ...result, rest: concatBytes([result.rest, ...chunks.slice(i + 1)]) }
    if (result !== undefined) return result
  }
  return close ? parser.end() : "pending"
}

const summary = (r: HandshakeResult | "pending") =>
  r === "pending"
    ? r
    : r._tag === "Upgraded"
      ? { tag: r._tag, rest: Array.from(r.rest) }
      : r._tag === "Rejected"
        ? { tag: r._tag, status: r.status }
        : { tag: r._tag }

describe("fuzz: HandshakeParser", () => {
  test("any response bytes: Upgraded, Rejected or Invalid with a message, never a throw", () => {
    fuzz(
      "Handshake.HandshakeParser (token soup x chunking)",
      fc.record({
        parts: fc.array(
          fc.oneof(
            { weight: 4, arbitrary: fc.constantFrom(...HS_TOKENS) },
            { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 10 }) },
          ),
          { maxLength: 14 },
        ),
        tail: fc.uint8Array({ maxLength: 10 }),
        cuts: fc.array(fc.nat(), { maxLength: 8 }),
        close: fc.boolean(),
      }),
      ({ parts, tail, cuts, close }) => {
        const bytes = concatBytes([enc.encode(parts.join("")), tail])
        const whole = handshake([bytes], close)
        const chunked = handshake(splitAt(bytes, cuts), close)
        // an upgrade hands over exactly the same frame bytes however the response was cut; once the socket
        // closed, every response is decided and the decision does not depend on the chunking
        if (whole !== "pending" && whole._tag === "Upgraded") expect(summary(chunked)).toEqual(summary(whole))
        if (close) expect(summary(chunked)).toEqual(summary(whole))
        if (whole !== "pending" && whole._tag === "Invalid") expect(whole.message.length).toBeGreaterThan(0)
        if (close) expect(whole).not.toBe("pending")
        return whole === "pending" || whole._tag !== "Upgraded" ? "error" : "value"
      },
      { numRuns: 3000 },
    )
  }, 120_000)

  test("a valid 101 with shuffled, re-cased headers upgrades and hands over the following bytes", () => {
    fuzz(
      "Handshake.HandshakeParser (valid 101 variants)",
      fc.record({
        order: fc.shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 }),
        upper: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
        extra: fc.array(fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,10}$/), fc.stringMatching(/^[ -~]{0,20}$/)), {
          maxLength: 4,
        }),
        rest: fc.uint8Array({ maxLength: 30 }),
        cuts: fc.array(fc.nat(), { maxLength: 8 }),
      }),
      ({ order, upper, extra, rest, cuts }) => {
        const base = [
          ["Upgrade", "websocket"],
          ["Connection", "Upgrade"],
          ["Sec-WebSocket-Accept", acceptFor(WS_KEY)],
          ["X-Codex-Primary-Used-Percent", "12"],
        ] as const
        const lines = order.map((i) => {
          const [name, value] = base[i] as readonly [string, string]
          return `${upper[i] ? name.toUpperCase() : name.toLowerCase()}: ${value}`
        })
        const safeExtra = extra.filter(([name]) => !/^(upgrade|connection|sec-websocket-)/i.test(name))
        const head = ["HTTP/1.1 101 Switching Protocols", ...lines, ...safeExtra.map(([n, v]) => `${n}: ${v}`)]
        const bytes = concatBytes([enc.encode(`${head.join("\r\n")}\r\n\r\n`), rest])
        const result = handshake(splitAt(bytes, cuts), false)
        expect(summary(result)).toEqual({ tag: "Upgraded", rest: Array.from(rest) })
        return "value"
      },
      { numRuns: 2000 },
    )
  }, 120_000)
})
