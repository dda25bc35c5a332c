/**
 * The WebSocket `response.create` frame (docs/protocol.md §6): the HTTP body with a `type`, without
 * `background`, and for a Responses Lite model the Lite flag in `client_metadata` (a socket's headers are
 * fixed at the handshake).
 */
import { describe, expect, test } from "bun:test"
import { responseCreateFrame } from "@cortexkit/openai-auth-core/CodexRequest"
import fc from "fast-check"
import { prepare, user } from "./vectors/support.ts"

const KEY = "ws_request_header_x_openai_internal_codex_responses_lite"

describe("responseCreateFrame", () => {
  test("a non-Lite body: the type first, then the body as it is", () => {
    const p = prepare({ model: "gpt-5.5", instructions: "x", input: [user("hi")] })
    const frame = responseCreateFrame(p.json, p.body)
    expect(frame).toBe(JSON.stringify({ type: "response.create", ...p.json }))
    expect(JSON.parse(frame).client_metadata[KEY]).toBeUndefined()
  })

  test("a Lite body: the flag joins client_metadata, cut from the text or written from the body", () => {
    const p = prepare({ model: "gpt-5.6-sol", input: [user("hi")], some_extra: { a: 1 } })
    const fromText = responseCreateFrame(p.json, p.body)
    const fromJson = responseCreateFrame(p.json)
    expect(fromText).toBe(fromJson)
    const frame = JSON.parse(fromText)
    expect(frame.type).toBe("response.create")
    expect(frame.client_metadata[KEY]).toBe("true")
    expect(frame.client_metadata.session_id).toBe(p.json.prompt_cache_key)
    expect(Object.keys(frame)).toEqual(["type", ...Object.keys(p.json)])
  })

  test("background (not a WebSocket field) and a stray type never go in a frame", () => {
    const json = { model: "gpt-5.5", input: [], background: true, type: "x" }
    expect(JSON.parse(responseCreateFrame(json, JSON.stringify(json)))).toEqual({
      type: "response.create",
      model: "gpt-5.5",
      input: [],
    })
  })

  test("property: the frame cut from the body's text is the frame written from the body", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("gpt-5.5", "gpt-5.6-terra", "gpt-5.4"),
        fc.array(fc.string(), { maxLength: 4 }),
        fc.dictionary(
          fc.string({ minLength: 1 }).filter((k) => k !== "__proto__"),
          fc.jsonValue(),
          { maxKeys: 3 },
        ),
        (model, texts, extra) => {
          const p = prepare({ ...extra, model, input: texts.map(user) })
          expect(responseCreateFrame(p.json, p.body)).toBe(responseCreateFrame(p.json))
        },
      ),
      { numRuns: 200 },
    )
  })
})
