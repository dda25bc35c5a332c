import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import {
  encodeClose,
  encodeFrame,
  encodeText,
  FrameWriter,
  maskInPlace,
  Opcode,
  TRANSIENT_TEXT_MAX,
} from "../src/Frame.ts"
import { FrameDecoder, type FrameSink } from "../src/FrameDecoder.ts"
import { acceptFor, HandshakeParser, UpgradeRequests } from "../src/Handshake.ts"
import { frame } from "./node/hostile.ts"

type Event = readonly [string, ...Array<unknown>]

const collect = (maxMessageBytes?: number) => {
  const events: Array<Event> = []
  const sink: FrameSink = {
    onText: (text) => events.push(["text", text]),
    onBinary: (data) => events.push(["binary", [...data]]),
    onPing: (payload) => events.push(["ping", Buffer.from(payload).toString()]),
    onPong: (payload) => events.push(["pong", Buffer.from(payload).toString()]),
    onClose: (code, reason) => events.push(["close", code, reason]),
    onError: (code, message) => events.push(["error", code, message]),
  }
  const decoder = new FrameDecoder(sink, maxMessageBytes !== undefined ? { maxMessageBytes } : {})
  return { events, decoder }
}

/** Decodes what a client frame carries (the server's view): unmask with the embedded key. */
const unmaskClientFrame = (bytes: Uint8Array) => {
  const b1 = bytes[1] as number
  expect(b1 & 0x80).toBe(0x80)
  let length = b1 & 0x7f
  let pos = 2
  if (length === 126) {
    length = Buffer.from(bytes).readUInt16BE(2)
    pos = 4
  } else if (length === 127) {
    length = Number(Buffer.from(bytes).readBigUInt64BE(2))
    pos = 10
  }
  const key = bytes.slice(pos, pos + 4)
  const payload = bytes.slice(pos + 4)
  expect(payload.length).toBe(length)
  for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (key[i % 4] as number)
  return { fin: ((bytes[0] as number) & 0x80) !== 0, opcode: (bytes[0] as number) & 0x0f, payload }
}

describe("Frame encoding", () => {
  test("text frames round-trip for 7-bit, 16-bit and 64-bit lengths, masked with a fresh key each time", () => {
    for (const size of [0, 125, 126, 65535, 65536, 200_000]) {
      const text = "ab€".repeat(Math.ceil(size / 5)).slice(0, size)
      const a = encodeText(text)
      const b = encodeText(text)
      const decoded = unmaskClientFrame(a)
      expect(decoded.fin).toBe(true)
      expect(decoded.opcode).toBe(Opcode.Text)
      expect(new TextDecoder().decode(decoded.payload)).toBe(text)
      if (size >= 8) expect(Buffer.compare(a, b)).not.toBe(0)
    }
  })

  test("text frames written from a writer's buffer round-trip, each copied out before the next overwrites it", () => {
    const writer = new FrameWriter()
    const writeTextFrame = (sink: { writeTransient: (b: Uint8Array, s: number, e: number) => void }, text: string) =>
      writer.writeText(sink, text)
    const written: Array<Uint8Array> = []
    const sink = {
      writeTransient: (bytes: Uint8Array, start: number, end: number) => written.push(bytes.slice(start, end)),
    }
    // every tail length (0-3 bytes past a word), both header sizes, astral and lone surrogates, and past the limit
    const texts = ["", "a", "ab", "abc", "abcd", "x".repeat(125), "é".repeat(63), "y".repeat(126), "😀\ud800z"]
    texts.push("ab€".repeat(TRANSIENT_TEXT_MAX / 3), "q".repeat(TRANSIENT_TEXT_MAX + 1))
    for (const text of texts) writeTextFrame(sink, text)
    expect(written.length).toBe(texts.length)
    texts.forEach((text, i) => {
      const decoded = unmaskClientFrame(written[i] as Uint8Array)
      expect(decoded.fin).toBe(true)
      expect(decoded.opcode).toBe(Opcode.Text)
      expect(Buffer.from(decoded.payload).equals(Buffer.from(text))).toBe(true)
    })
    // a fresh key per frame: the same text never masks to the same bytes twice
    writeTextFrame(sink, "same text")
    writeTextFrame(sink, "same text")
    expect(Buffer.compare(written.at(-1) as Uint8Array, written.at(-2) as Uint8Array)).not.toBe(0)
  })

  test("masking in place equals the byte-by-byte XOR at any offset and key phase", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.nat(7),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        fc.nat(3),
        (data, offset, key, phase) => {
          const buf = new Uint8Array(offset + data.length)
          buf.set(data, offset)
          maskInPlace(buf, offset, data.length, key, phase)
          for (let i = 0; i < data.length; i++) {
            if (buf[offset + i] !== ((data[i] as number) ^ (key[(phase + i) & 3] as number))) return false
          }
          return true
        },
      ),
    )
  })

  test("close frames carry the code and a reason cut to 123 bytes on a character boundary", () => {
    const decoded = unmaskClientFrame(encodeClose(1000, "é".repeat(100)))
    expect(decoded.opcode).toBe(Opcode.Close)
    expect(Buffer.from(decoded.payload).readUInt16BE(0)).toBe(1000)
    expect(decoded.payload.length).toBe(2 + 122)
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(decoded.payload.subarray(2))).not.toThrow()
    expect(unmaskClientFrame(encodeClose()).payload.length).toBe(0)
    expect(unmaskClientFrame(encodeFrame(Opcode.Ping, Uint8Array.of(1, 2))).opcode).toBe(Opcode.Ping)
  })
})

describe("FrameDecoder", () => {
  test("any split of a stream of frames decodes to the same events", () => {
    const messageArb = fc.oneof(
      fc.string({ maxLength: 300, unit: "grapheme" }).map((text) => ({ kind: "text" as const, text })),
      fc
        .array(fc.string({ maxLength: 40, unit: "grapheme" }), { minLength: 2, maxLength: 4 })
        .map((parts) => ({ kind: "fragmented" as const, parts })),
      fc.string({ maxLength: 20 }).map((text) => ({ kind: "ping" as const, text })),
    )
    fc.assert(
      fc.property(
        fc.array(messageArb, { maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1 }),
        (messages, cuts) => {
          const wire: Array<Buffer> = []
          const expected: Array<Event> = []
          for (const m of messages) {
            if (m.kind === "text") {
              wire.push(frame(1, m.text))
              expected.push(["text", m.text])
            } else if (m.kind === "ping") {
              wire.push(frame(9, m.text))
              expected.push(["ping", m.text])
            } else {
              m.parts.forEach((part, i) => {
                wire.push(frame(i === 0 ? 1 : 0, part, { fin: i === m.parts.length - 1 }))
              })
              expected.push(["text", m.parts.join("")])
            }
          }
          const bytes = Buffer.concat(wire)
          const { events, decoder } = collect()
          let pos = 0
          for (let i = 0; pos < bytes.length; i++) {
            const size = cuts[i % cuts.length] as number
            decoder.push(bytes.subarray(pos, pos + size))
            pos += size
          }
          expect(events).toEqual(expected)
        },
      ),
    )
  })

  test("a message is delivered when its final frame completes, not when the next chunk arrives", () => {
    const { events, decoder } = collect()
    const a = frame(1, "first")
    const b = frame(1, "second")
    decoder.push(Buffer.concat([a, b.subarray(0, 3)]))
    expect(events).toEqual([["text", "first"]])
    decoder.push(b.subarray(3))
    expect(events).toEqual([
      ["text", "first"],
      ["text", "second"],
    ])
  })

  test("a hostile 64-bit length is refused from its header, before any payload byte", () => {
    const { events, decoder } = collect(1024)
    decoder.push(frame(1, "", { length: 2 ** 40 }).subarray(0, 10))
    expect(events).toEqual([["error", 1009, "message of 1099511627776 bytes exceeds the 1024 byte limit"]])
    decoder.push(Buffer.alloc(100))
    expect(events.length).toBe(1)
  })

  test("close frames: no code is 1005, a 1-byte payload or a reserved code is 1002", () => {
    const empty = collect()
    empty.decoder.push(frame(8))
    expect(empty.events).toEqual([["close", 1005, ""]])
    const one = collect()
    one.decoder.push(frame(8, Uint8Array.of(3)))
    expect(one.events[0]?.[1]).toBe(1002)
    const reserved = collect()
    reserved.decoder.push(frame(8, Uint8Array.of(0x03, 0xed)))
    expect(reserved.events).toEqual([["error", 1002, "invalid close code 1005"]])
  })

  test("binary messages (whole and fragmented) are reported as binary", () => {
    const { events, decoder } = collect()
    decoder.push(
      Buffer.concat([
        frame(2, Uint8Array.of(1, 2)),
        frame(2, Uint8Array.of(3), { fin: false }),
        frame(0, Uint8Array.of(4)),
      ]),
    )
    expect(events).toEqual([
      ["binary", [1, 2]],
      ["binary", [3, 4]],
    ])
  })

  test("a new text frame inside a fragmented message is a protocol error", () => {
    const { events, decoder } = collect()
    decoder.push(Buffer.concat([frame(1, "a", { fin: false }), frame(1, "b")]))
    expect(events).toEqual([["error", 1002, "new data frame inside a fragmented message"]])
  })
})

describe("Handshake", () => {
  test("accept key matches the RFC 6455 example", () => {
    expect(acceptFor("dGhlIHNhbXBsZSBub25jZQ==")).toBe("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
  })

  test("the request refuses header injection and drops handshake-owned headers", () => {
    const url = new URL("wss://chatgpt.com/backend-api/codex/responses?x=1")
    const requests = new UpgradeRequests()
    expect(requests.build(url, { "x-a": "1\r\nevil: 1" }, "k")).toEqual({
      _tag: "InvalidHeader",
      message: "header x-a contains a line break",
    })
    const request = requests.build(url, { Host: "other", "x-a": "1" }, "k")
    const text = request._tag === "Request" ? request.text : ""
    expect(text.startsWith("GET /backend-api/codex/responses?x=1 HTTP/1.1\r\nHost: chatgpt.com\r\n")).toBe(true)
    expect(text).not.toContain("other")
    expect(text.endsWith("x-a: 1\r\n\r\n")).toBe(true)
  })

  test("property: a connector's requests, its header lines reused, are what a fresh build makes", () => {
    const url = new URL("ws://127.0.0.1:8080/backend-api/codex/responses")
    const value = fc.oneof(fc.constantFrom("Bearer a", "Bearer b", "x\r\ny"), fc.string({ maxLength: 8 }))
    const headerSet = fc.dictionary(fc.constantFrom("authorization", "x-a", "x-b", "Bad Name", "host"), value, {
      maxKeys: 4,
    })
    fc.assert(
      fc.property(fc.array(headerSet, { minLength: 1, maxLength: 8 }), (sets) => {
        const kept = new UpgradeRequests()
        for (const [i, headers] of sets.entries()) {
          expect(kept.build(url, headers, `key${i}`)).toEqual(new UpgradeRequests().build(url, headers, `key${i}`))
        }
      }),
    )
  })

  test("a 101 split byte by byte keeps the bytes after the terminator as frame data", () => {
    const key = "dGhlIHNhbXBsZSBub25jZQ=="
    const bytes = Buffer.concat([
      Buffer.from(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\nX-A: 1\r\nX-A: 2\r\n\r\n`,
      ),
      frame(1, "hi"),
    ])
    const parser = new HandshakeParser(key)
    let result: ReturnType<HandshakeParser["push"]>
    let i = 0
    for (; i < bytes.length && result === undefined; i++) result = parser.push(bytes.subarray(i, i + 1))
    expect(result?._tag).toBe("Upgraded")
    const rest = collect()
    if (result?._tag === "Upgraded") {
      expect(result.headers["x-a"]).toBe("1, 2")
      rest.decoder.push(result.rest)
    }
    rest.decoder.push(bytes.subarray(i))
    expect(rest.events).toEqual([["text", "hi"]])
    // and in one chunk, the frame bytes come back as `rest`
    const whole = new HandshakeParser(key).push(bytes)
    expect(whole?._tag === "Upgraded" ? [...whole.rest] : []).toEqual([...frame(1, "hi")])
  })

  test("the refusal body is taken by content-length even when more bytes follow", () => {
    const parser = new HandshakeParser("k")
    const result = parser.push(Buffer.from("HTTP/1.1 429 Too Many Requests\r\ncontent-length: 2\r\n\r\n{}junk"))
    expect(result).toEqual({ _tag: "Rejected", status: 429, headers: { "content-length": "2" }, body: "{}" })
    const unframed = new HandshakeParser("k")
    expect(unframed.push(Buffer.from("HTTP/1.1 502 Bad Gateway\r\n\r\nupstream"))).toBeUndefined()
    expect(unframed.end()).toEqual({ _tag: "Rejected", status: 502, headers: {}, body: "upstream" })
  })
})
