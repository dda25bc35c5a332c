/**
 * What goes on the wire is the body, whatever a rule does to the items (issue 12): the prepared body carries
 * its own text, written only from the (frozen) data in it, so no edit can leave stale bytes behind.
 */
import { describe, expect, test } from "bun:test"
import { type CodexRequestContext, type InputRule, prepareCodexRequest } from "@cortexkit/openai-auth-core/CodexRequest"
import { HostBodyMemo } from "@cortexkit/openai-auth-core/HostBodyMemo"
import { decodeHostRequestResult, type HostRequest } from "@cortexkit/openai-auth-core/HostRequest"
import { wireBody } from "@cortexkit/openai-auth-core/StableJson"
import { Redacted, Result } from "effect"
import fc from "fast-check"
import { conversation, HOST_URL, hostHeaders, mainTurn, userMessage } from "./fixtures/opencode.ts"

const ctx: CodexRequestContext = {
  accessToken: Redacted.make("access-token-123"),
  accountId: "acct_main",
  settings: { codexApiEndpoint: "http://127.0.0.1:9/backend-api/codex/responses", webSearch: true },
  identity: { originator: "opencode", userAgent: "opencode/1.18.33" },
}

/** Bodies big enough for the memo to engage (it leaves small ones to a plain parse). */
const BIG = 8000

const decode = (text: string, memo?: HostBodyMemo): HostRequest => {
  const decoded = decodeHostRequestResult({ url: HOST_URL, method: "POST", headers: hostHeaders(), body: text }, memo)
  if (Result.isFailure(decoded)) throw decoded.failure
  return decoded.success
}

type Json = Record<string, unknown>

/** The text of a message or tool output, changed: always by making a new item. */
const edited = (item: unknown, text: string): unknown => {
  if (typeof item !== "object" || item === null) return { role: "user", content: text }
  const copy = { ...(item as Json) }
  if (typeof copy.output === "string") copy.output = `${copy.output}${text}`
  else if (Array.isArray(copy.content)) copy.content = [...copy.content, { type: "input_text", text }]
  else copy.note = text
  return copy
}

type Op =
  | { readonly kind: "edit"; readonly at: number; readonly text: string }
  | { readonly kind: "insert"; readonly at: number; readonly text: string }
  | { readonly kind: "drop"; readonly at: number }
  | { readonly kind: "move"; readonly at: number; readonly to: number }

/** A rule that edits, inserts and drops items as `ops` say. */
const ruleOf =
  (ops: ReadonlyArray<Op>): InputRule =>
  (items) => {
    const out = [...items]
    for (const op of ops) {
      if (op.kind === "insert") out.splice(op.at % (out.length + 1), 0, userMessage(op.text))
      else if (out.length === 0) continue
      else if (op.kind === "drop") out.splice(op.at % out.length, 1)
      // out of the host's order: the memo's lookups of items and of their cut copies leave the cursor
      else if (op.kind === "move") out.splice(op.to % out.length, 0, ...out.splice(op.at % out.length, 1))
      else out[op.at % out.length] = edited(out[op.at % out.length], op.text)
    }
    return out
  }

const arbText = fc.string({ unit: "grapheme", maxLength: 12 }).map((s) => `${s} \\"q\\" é ${"pad ".repeat(20)}`)
const arbOp: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("edit" as const), at: fc.nat(), text: arbText }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), text: arbText }),
  fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("move" as const), at: fc.nat(), to: fc.nat() }),
)

describe("the wire text is the body", () => {
  test("an item of a parsed body cannot be edited in place: the attempt throws instead of leaving stale text", () => {
    const memo = new HostBodyMemo()
    const host = decode(JSON.stringify(mainTurn(conversation(6, BIG))), memo)
    const first = (host.body.input as Array<Json>)[0] as { content: Array<{ text: string }> }
    expect(host.input).toBeDefined()
    expect(() => {
      ;(first.content[0] as { text: string }).text = "changed behind the memo's back"
    }).toThrow(TypeError)
    expect(() => {
      ;(host.body.input as Array<Json>)[1] = { role: "user", content: "swapped" }
    }).not.toThrow()
    // the body's array is the caller's own: swapping an element is seen, and written from the new element
    const prepared = prepareCodexRequest(host, ctx)
    expect(prepared.body).toBe(JSON.stringify(prepared.json))
    expect(prepared.body).toContain('"content":"swapped"')
  })

  test("the regression of issue 12: a rule that changes an item's text after the memo parsed it is on the wire", () => {
    const memo = new HostBodyMemo()
    const text = JSON.stringify(mainTurn(conversation(6, BIG)))
    prepareCodexRequest(decode(text, memo), ctx)
    const host = decode(text, memo)
    const prepared = prepareCodexRequest(host, ctx, [
      (items) => items.map((item, i) => (i === 3 ? edited(item, "NEW TEXT") : item)),
    ])
    expect(prepared.body).toBe(JSON.stringify(prepared.json))
    expect(prepared.body).toContain("NEW TEXT")
  })

  test("a prepared body is frozen at the top level and its items are frozen", () => {
    const host = decode(JSON.stringify(mainTurn(conversation(6, BIG))), new HostBodyMemo())
    const prepared = prepareCodexRequest(host, ctx)
    expect(Object.isFrozen(prepared.json)).toBe(true)
    for (const item of prepared.json.input as Array<unknown>) expect(Object.isFrozen(item)).toBe(true)
    // and a body without recorded texts is plain JSON.stringify
    const plain = wireBody({ model: "m", input: [{ role: "user", content: "x" }] })
    expect(plain.text).toBe('{"model":"m","input":[{"role":"user","content":"x"}]}')
  })

  test("property: a rule that edits, inserts and drops items, over turns through the memo and a second account, writes JSON.stringify of the body", () => {
    let reused = 0
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.record({ grow: fc.nat(3), ops: fc.array(arbOp, { maxLength: 5 }) }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.array(arbOp, { maxLength: 4 }),
        (start, turns, otherOps) => {
          const memo = new HostBodyMemo()
          let steps = start
          for (const turn of turns) {
            steps += turn.grow
            const text = JSON.stringify(mainTurn(conversation(steps, BIG)))
            const host = decode(text, memo)
            const rule = ruleOf(turn.ops)
            const prepared = prepareCodexRequest(host, ctx, [rule])
            expect(prepared.body).toBe(JSON.stringify(prepared.json))
            // the same rule on a plain parse (nothing reused) gives the same bytes
            expect(prepared.body).toBe(prepareCodexRequest(decode(text), ctx, [rule]).body)
            // the same host request prepared again (another account), with another rule: still its own body
            const again = prepareCodexRequest(host, { ...ctx, accountId: "acct_b" }, [ruleOf(otherOps)])
            expect(again.body).toBe(JSON.stringify(again.json))
          }
          reused += memo.hits
        },
      ),
      { numRuns: 60 },
    )
    expect(reused).toBeGreaterThan(30)
  })

  test("property: an item the host spelled otherwise than JSON.stringify (escapes, a lone surrogate) is written again, cold or warm", () => {
    // the memo checks a cold body for these spellings once, whole, instead of item by item (see `HostInput`)
    const spellings = [
      { find: "export", put: "\\u0065xport" },
      { find: "/work/src", put: "\\/work/src" },
      { find: "done.", put: "done.\ud800" },
      { find: "done.", put: "done.\u{1F600}" },
    ] as const
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 8 }),
        fc.constantFrom(...spellings),
        fc.nat(20),
        fc.nat(2),
        (steps, spelling, nth, grow) => {
          const respell = (text: string): string => {
            let at = text.indexOf(spelling.find)
            for (let k = 0; k < nth % 4 && at >= 0; k++) at = text.indexOf(spelling.find, at + 1)
            return at < 0 ? text : text.slice(0, at) + spelling.put + text.slice(at + spelling.find.length)
          }
          const memo = new HostBodyMemo()
          for (const text of [steps, steps + grow].map((n) =>
            respell(JSON.stringify(mainTurn(conversation(n, BIG)))),
          )) {
            const prepared = prepareCodexRequest(decode(text, memo), ctx)
            expect(prepared.body).toBe(JSON.stringify(prepared.json))
            expect(prepared.body).toBe(prepareCodexRequest(decode(text), ctx).body)
          }
        },
      ),
      { numRuns: 40 },
    )
  })
})
