import { describe, expect, test } from "bun:test"
import { encodeSse } from "@cortexkit/openai-auth-core/Sse"
import { decodeFrame, frameType, sseText } from "../src/SseReencode.ts"

const encoder = new TextEncoder()

describe("frameType (the no-parse classification of WebSocket frames)", () => {
  test("reads the type of a frame that starts with it", () => {
    expect(frameType('{"type":"response.output_text.delta","delta":"hi"}')).toBe("response.output_text.delta")
    expect(frameType('{"type":"error"}')).toBe("error")
  })

  test("agrees with JSON.parse on every frame it classifies", () => {
    const frames = [
      '{"type":"response.created","response":{"id":"resp_1"}}',
      '{"type":"response.output_text.delta","delta":"\\"quoted\\" and \\\\"}',
      '{"type":"codex.rate_limits","rate_limits":{}}',
    ]
    for (const frame of frames) expect(frameType(frame)).toBe(decodeFrame(frame)?.type as string)
  })

  test("declines whatever it cannot read safely, so that the frame is parsed instead", () => {
    expect(frameType('{ "type":"response.created"}')).toBeUndefined()
    expect(frameType('{"delta":"x","type":"response.output_text.delta"}')).toBeUndefined()
    expect(frameType('{"type":"resp\\u006fnse.created"}')).toBeUndefined()
    expect(frameType('{"type":"response.created"')).toBeUndefined()
    expect(frameType('{"type":"a\nb"}')).toBeUndefined()
    expect(frameType("not json")).toBeUndefined()
  })
})

describe("sseText", () => {
  test("encodes to the same bytes as the core SSE encoder, line breaks included", () => {
    const cases: Array<[string, string]> = [
      ["response.output_text.delta", '{"type":"response.output_text.delta","delta":"x"}'],
      ["response.created", '{\n"type":"response.created"\r\n}'],
      ["bad\nname", "{}"],
      ["response.output_text.delta", '{"type":"response.output_text.delta","delta":"é漢🙂"}'],
    ]
    for (const [type, text] of cases) {
      const expected = Buffer.from(encoder.encode(sseText(type, text)))
      expect(Buffer.compare(expected, Buffer.from(encodeSse(type, text)))).toBe(0)
    }
  })
})
