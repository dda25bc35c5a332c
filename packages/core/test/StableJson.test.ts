import { describe, expect, test } from "bun:test"
import { type CodexRequestContext, prepareCodexRequest } from "@cortexkit/openai-auth-core/CodexRequest"
import { decodeHostRequestResult } from "@cortexkit/openai-auth-core/HostRequest"
import { TOP_LEVEL_KEY_ORDER, wireBody } from "@cortexkit/openai-auth-core/StableJson"
import { Redacted, Result } from "effect"
import fc from "fast-check"
import { HOST_URL, mainTurn } from "./fixtures/opencode.ts"

const ctx: CodexRequestContext = {
  accessToken: Redacted.make("t"),
  accountId: "acct",
  settings: { codexApiEndpoint: "http://127.0.0.1:9/r", webSearch: true },
  identity: { originator: "opencode", userAgent: "opencode/1.18.33" },
}

const prepareText = (body: Record<string, unknown>): string => {
  const decoded = decodeHostRequestResult({ url: HOST_URL, headers: {}, body: JSON.stringify(body) })
  if (Result.isFailure(decoded)) throw decoded.failure
  return prepareCodexRequest(decoded.success, ctx).body
}

describe("StableJson", () => {
  test("the order table is the one Codex CLI serializes", () => {
    expect(TOP_LEVEL_KEY_ORDER.slice(0, 4)).toEqual(["model", "instructions", "previous_response_id", "input"])
    expect(TOP_LEVEL_KEY_ORDER.at(-1)).toBe("client_metadata")
  })

  test("prepared bodies follow the table; the host's other fields come after it, sorted", () => {
    const body = { zeta: 1, ...mainTurn(), alpha: { b: 1, a: 2 } }
    const keys = Object.keys(JSON.parse(prepareText(body)))
    const known = keys.filter((k) => TOP_LEVEL_KEY_ORDER.includes(k))
    expect(known).toEqual([...known].sort((a, b) => TOP_LEVEL_KEY_ORDER.indexOf(a) - TOP_LEVEL_KEY_ORDER.indexOf(b)))
    expect(keys.slice(-2)).toEqual(["alpha", "zeta"])
    // nested objects keep the host's own key order
    expect(prepareText(body)).toContain('"alpha":{"b":1,"a":2}')
  })

  test("a key named __proto__ (an own key after JSON.parse) stays a key, not the prototype", () => {
    const decoded = decodeHostRequestResult({ url: HOST_URL, headers: {}, body: '{"model":"m","__proto__":{"x":1}}' })
    if (Result.isFailure(decoded)) throw decoded.failure
    const prepared = prepareCodexRequest(decoded.success, ctx)
    expect(Object.getPrototypeOf(prepared.json)).toBe(Object.prototype)
    expect(prepared.body).toEndWith(',"__proto__":{"x":1}}')
    expect(prepared.body).toBe(JSON.stringify(prepared.json))
  })

  test("wireBody without recorded texts is JSON.stringify, and freezes the body", () => {
    const body = { model: "m", input: [{ role: "user", content: "é\u2028" }], text: { verbosity: "low" } }
    const wire = wireBody(body)
    expect(wire.text).toBe(JSON.stringify(body))
    expect(Object.isFrozen(wire.json)).toBe(true)
  })

  test("property: any insertion order of the host's fields gives the same bytes", () => {
    const entry = fc.tuple(
      fc.string({ minLength: 1 }).filter((k) => !/^\d+$/.test(k) && k !== "__proto__"),
      fc.jsonValue(),
    )
    fc.assert(
      fc.property(fc.uniqueArray(entry, { selector: ([k]) => k, maxLength: 12 }), fc.nat(), (entries, seed) => {
        const base = mainTurn()
        const a = { ...base, ...Object.fromEntries(entries) }
        const shuffled = [...Object.entries(a)].sort(
          (x, y) => ((x[0].length * 31 + seed) % 7) - ((y[0].length * 31 + seed) % 7),
        )
        const b = Object.fromEntries(shuffled)
        if (typeof a.model !== "string") return
        const text = prepareText(a)
        expect(prepareText(b)).toBe(text)
      }),
      { numRuns: 200 },
    )
  })
})
