import { describe, expect, test } from "bun:test"
import { type CodexRequestContext, prepareCodexRequest } from "@cortexkit/openai-auth-core/CodexRequest"
import { HostBodyMemo } from "@cortexkit/openai-auth-core/HostBodyMemo"
import { decodeHostRequestResult } from "@cortexkit/openai-auth-core/HostRequest"
import { commonPrefixLength } from "@cortexkit/openai-auth-core/internal/json-layout"
import { Redacted, Result } from "effect"
import fc from "fast-check"
import { conversation, HOST_URL, hostHeaders, mainTurn, pluginsDisabledTurn, stepItems } from "./fixtures/opencode.ts"

const ctx: CodexRequestContext = {
  accessToken: Redacted.make("access-token-123"),
  accountId: "acct_main",
  settings: { codexApiEndpoint: "http://127.0.0.1:9/backend-api/codex/responses", webSearch: true },
  identity: { originator: "opencode", userAgent: "opencode/1.18.33" },
}

/** The wire bytes of `text`, decoded with or without the memo. */
const wire = (text: string, memo?: HostBodyMemo): string => {
  const decoded = decodeHostRequestResult({ url: HOST_URL, method: "POST", headers: hostHeaders(), body: text }, memo)
  if (Result.isFailure(decoded)) throw decoded.failure
  const prepared = prepareCodexRequest(decoded.success, ctx)
  const sent = prepared.body
  // whatever was reused, the bytes are exactly JSON.stringify of the rewritten body
  expect(sent).toBe(JSON.stringify(prepared.json))
  return sent
}

/** Bodies big enough for the memo to engage (it leaves small ones to a plain parse). */
const BIG = 8000

describe("commonPrefixLength", () => {
  test("property: the index of the first difference, whatever the lengths and block boundaries", () => {
    const naive = (a: string, b: string) => {
      let i = 0
      while (i < a.length && i < b.length && a[i] === b[i]) i++
      return i
    }
    fc.assert(
      fc.property(
        fc.string(),
        // the ends of the one-by-one run (256) and of the doubling blocks (512 up to 65536, then 65536 each)
        fc.oneof(fc.nat({ max: 300_000 }), fc.constantFrom(0, 255, 256, 257, 767, 768, 769, 131_328, 196_864)),
        fc.string(),
        fc.string(),
        (seed, size, x, y) => {
          const base = seed.repeat(Math.ceil(size / Math.max(1, seed.length))).slice(0, size)
          expect(commonPrefixLength(base + x, base + y)).toBe(naive(base + x, base + y))
        },
      ),
      { numRuns: 200 },
    )
  })
})

describe("HostBodyMemo", () => {
  test("a 30-turn session: every continuation reuses the previous turn and writes the same bytes", () => {
    const memo = new HostBodyMemo()
    for (let turn = 1; turn <= 30; turn++) {
      const text = JSON.stringify(mainTurn(conversation(turn, BIG)))
      expect(wire(text, memo)).toBe(wire(text))
      expect(memo.hits).toBe(turn - 1)
    }
  })

  test("a repeated turn (a retry) and a second account's preparation give the same bytes", () => {
    const memo = new HostBodyMemo()
    const text = JSON.stringify(mainTurn(conversation(8, BIG)))
    const first = wire(text, memo)
    expect(wire(text, memo)).toBe(first)
    expect(wire(text, memo)).toBe(wire(text))
    expect(memo.hits).toBe(2)
  })

  test("branches: an edited middle item, a compacted history and a dropped tail reuse only what is identical", () => {
    const memo = new HostBodyMemo()
    const items = conversation(12, BIG)
    wire(JSON.stringify(mainTurn(items)), memo)
    const edited = structuredClone(items)
    ;(edited[20] as { output: string }).output = "changed tool output"
    const compacted = [items[0], ...stepItems(99, BIG)]
    const shorter = items.slice(0, 25)
    for (const input of [edited, compacted, shorter, items]) {
      const text = JSON.stringify(mainTurn(input))
      expect(wire(text, memo)).toBe(wire(text))
    }
  })

  test("system prompts carried in input are lifted the same way on a reused prefix", () => {
    const memo = new HostBodyMemo()
    const base = pluginsDisabledTurn()
    for (let steps = 1; steps <= 6; steps++) {
      const body = { ...base, input: [...(base.input as Array<unknown>).slice(0, 2), ...conversation(steps, BIG)] }
      const text = JSON.stringify(body)
      expect(wire(text, memo)).toBe(wire(text))
    }
    expect(memo.hits).toBeGreaterThan(0)
  })

  test("pretty-printed bodies, item references and whitespace around separators", () => {
    for (const indent of [2, "\t"]) {
      const memo = new HostBodyMemo()
      for (let steps = 2; steps <= 5; steps++) {
        const input = [...conversation(steps, BIG), { type: "item_reference", id: `ref_${steps}` }]
        const text = JSON.stringify(mainTurn(input), null, indent)
        expect(wire(text, memo)).toBe(wire(text))
      }
      expect(memo.hits).toBe(3)
    }
  })

  test("a repeated input key after the reused prefix is not mistaken: JSON.parse's last-key rule wins", () => {
    const memo = new HostBodyMemo()
    const text = JSON.stringify(mainTurn(conversation(6, BIG)))
    wire(text, memo)
    const repeated = `${text.slice(0, -1)},"input":[{"role":"user","content":"only me"}]}`
    expect(wire(repeated, memo)).toBe(wire(repeated))
    expect(JSON.parse(wire(repeated, memo)).input).toEqual([{ role: "user", content: "only me" }])
    // one new item, and a repeated key spelled with an escape holding as many items: only JSON.parse's answer
    const grown = JSON.stringify(mainTurn([...conversation(6, BIG), { role: "user", content: "new turn" }]))
    const escaped = `${grown.slice(0, -1)},"\\u0069nput":[{"role":"user","content":"escaped me"}]}`
    expect(wire(escaped, memo)).toBe(wire(escaped))
    expect(JSON.parse(wire(escaped, memo)).input).toEqual([{ role: "user", content: "escaped me" }])
  })

  test("escaped keys and a string input make it fall back to a plain parse", () => {
    const memo = new HostBodyMemo()
    const text = JSON.stringify(mainTurn(conversation(6, BIG)))
    const escaped = text.replace('"input":', '"\\u0069nput":')
    expect(wire(escaped, memo)).toBe(wire(escaped))
    wire(text, memo)
    const asString = JSON.stringify({ ...mainTurn(), input: "x".repeat(30_000) })
    expect(wire(asString, memo)).toBe(wire(asString))
  })

  test("malformed text after a remembered prefix fails exactly as JSON.parse does", () => {
    const memo = new HostBodyMemo()
    const text = JSON.stringify(mainTurn(conversation(6, BIG)))
    wire(text, memo)
    for (const bad of [text.slice(0, -40), `${text.slice(0, -1)},}`, text.replace(/\],"text"/, ',"text"')]) {
      let expected: unknown
      try {
        JSON.parse(bad)
      } catch (error) {
        expected = error
      }
      expect(expected).toBeInstanceOf(SyntaxError)
      expect(() => memo.parse(bad)).toThrow(SyntaxError)
    }
  })

  test("memory stays bounded: old bodies are dropped beyond the entry and size caps", () => {
    const memo = new HostBodyMemo({ entries: 3, maxChars: 200_000 })
    for (let session = 0; session < 10; session++) {
      const items = conversation(4, BIG)
      ;(items[0] as { content: Array<{ text: string }> }).content[0] = { text: `session ${session}` } as never
      wire(JSON.stringify(mainTurn(items)), memo)
    }
    const held = (memo as unknown as { recent: Array<{ text: string }> }).recent
    expect(held.length).toBeLessThanOrEqual(3)
    expect(held.slice(1).reduce((sum, e) => sum + e.text.length, 0)).toBeLessThanOrEqual(200_000)
  })

  test("property: any sequence of appends, edits and truncations writes what a plain parse writes", () => {
    const text = fc.string({ unit: "grapheme", maxLength: 40 }).map((s) => `${s}\\"q"\\\\ ${"pad ".repeat(50)}`)
    const item = fc.oneof(
      fc.record({ role: fc.constantFrom("user", "assistant", "system"), content: text, id: fc.option(fc.string()) }),
      fc.record({ type: fc.constant("function_call_output"), call_id: fc.string(), output: text }),
      fc.record({ type: fc.constant("item_reference"), id: fc.string() }),
      fc.record({ type: fc.constant("reasoning"), content: fc.constant([{ type: "reasoning_text", text: "r" }]) }),
      fc.record({ type: fc.constant("custom"), value: fc.jsonValue(), note: fc.string({ unit: "binary" }) }),
    )
    const op = fc.oneof(
      fc.record({ kind: fc.constant("append" as const), items: fc.array(item, { maxLength: 4 }) }),
      fc.record({ kind: fc.constant("edit" as const), at: fc.nat(), item }),
      fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
    )
    let reusedTurns = 0
    fc.assert(
      fc.property(
        fc.array(item, { minLength: 1, maxLength: 30 }),
        fc.array(op, { maxLength: 8 }),
        fc.constantFrom(undefined, 1, "\t"),
        (start, ops, indent) => {
          const memo = new HostBodyMemo()
          let input: Array<unknown> = start
          const check = () => {
            const body = { ...mainTurn(input), instructions: "x".repeat(BIG * 9) }
            const text = JSON.stringify(body, null, indent)
            expect(wire(text, memo)).toBe(wire(text))
          }
          check()
          for (const o of ops) {
            if (o.kind === "append") input = [...input, ...o.items]
            else if (o.kind === "edit" && input.length > 0) input = input.with(o.at % input.length, o.item)
            else if (o.kind === "truncate") input = input.slice(0, (o.at % input.length) + 1)
            // every turn rebuilds its objects from text, as a host that serialises each time does
            input = JSON.parse(JSON.stringify(input))
            check()
          }
          reusedTurns += memo.hits
        },
      ),
      { numRuns: 80 },
    )
    expect(reusedTurns).toBeGreaterThan(40)
  })
})
