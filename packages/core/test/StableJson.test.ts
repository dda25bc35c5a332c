import { describe, expect, test } from "bun:test"
import {
  encodeStable,
  orderTopLevel,
  stringifyStable,
  TOP_LEVEL_KEY_ORDER,
} from "@cortexkit/openai-auth-core/StableJson"
import fc from "fast-check"

describe("StableJson", () => {
  test("top-level keys follow the Codex order, unknown keys after it, sorted", () => {
    const body = {
      zeta: 1,
      stream: true,
      include: [],
      input: [],
      alpha: 2,
      model: "gpt-5.5",
      client_metadata: {},
      instructions: "",
      store: false,
    }
    expect(Object.keys(JSON.parse(stringifyStable(body)))).toEqual([
      "model",
      "instructions",
      "input",
      "store",
      "stream",
      "include",
      "client_metadata",
      "alpha",
      "zeta",
    ])
  })

  test("nested objects keep the host's own key order", () => {
    const body = {
      input: [{ z: 1, a: 2, role: "user" }],
      model: "m",
      text: { verbosity: "low", format: { b: 1, a: 2 } },
    }
    expect(stringifyStable(body)).toBe(
      '{"model":"m","input":[{"z":1,"a":2,"role":"user"}],"text":{"verbosity":"low","format":{"b":1,"a":2}}}',
    )
  })

  test("undefined values are left out and the input object is not changed", () => {
    const body = { stream: true, model: "m", previous_response_id: undefined }
    const before = JSON.stringify(body)
    expect(Object.keys(orderTopLevel(body))).toEqual(["model", "stream"])
    expect(JSON.stringify(body)).toBe(before)
  })

  test("a key named __proto__ (an own key after JSON.parse) is kept as a key, not made the prototype", () => {
    const body = JSON.parse('{"model":"m","__proto__":{"x":1},"stream":true}') as Record<string, unknown>
    const ordered = orderTopLevel(body)
    expect(Object.getPrototypeOf(ordered)).toBe(Object.prototype)
    expect(JSON.parse(stringifyStable(body))).toEqual(JSON.parse(JSON.stringify(body)))
    expect(stringifyStable(body)).toBe('{"model":"m","stream":true,"__proto__":{"x":1}}')
  })

  test("the order table is the one Codex CLI serializes", () => {
    expect(TOP_LEVEL_KEY_ORDER.slice(0, 4)).toEqual(["model", "instructions", "previous_response_id", "input"])
    expect(TOP_LEVEL_KEY_ORDER.at(-1)).toBe("client_metadata")
  })

  test("property: any key insertion order gives the same bytes; the bytes are the UTF-8 of the text", () => {
    const entry = fc.tuple(
      fc.oneof(
        fc.constantFrom(...TOP_LEVEL_KEY_ORDER),
        fc.string({ minLength: 1 }).filter((k) => !/^\d+$/.test(k)),
      ),
      fc.jsonValue(),
    )
    fc.assert(
      fc.property(fc.uniqueArray(entry, { selector: ([k]) => k, maxLength: 20 }), fc.nat(), (entries, seed) => {
        const a = Object.fromEntries(entries)
        const shuffled = [...entries].sort((x, y) => ((x[0].length * 31 + seed) % 7) - ((y[0].length * 31 + seed) % 7))
        const b = Object.fromEntries(shuffled)
        const text = stringifyStable(a)
        expect(stringifyStable(b)).toBe(text)
        expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(a)))
        expect(new TextDecoder().decode(encodeStable(a))).toBe(text)
      }),
      { numRuns: 300 },
    )
  })
})
