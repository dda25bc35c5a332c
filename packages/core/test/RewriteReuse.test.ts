/**
 * What the rewrite reuses from one request to the next, and the proof that reusing it changes no byte: the
 * turn metadata a session's tool loop shares (`SessionTurns`, kept by the caller's body memo), the text of
 * an item sent without its id cut from the host's text, and the pairing of tool calls carried from the
 * previous turn. Every reused value is the one that would be built afresh, and recorded text belongs to
 * data that can no longer change.
 */
import { describe, expect, test } from "bun:test"
import { type CodexRequestContext, prepareCodexRequest } from "@cortexkit/openai-auth-core/CodexRequest"
import { HostBodyMemo } from "@cortexkit/openai-auth-core/HostBodyMemo"
import { decodeHostRequestResult, type HostRequest } from "@cortexkit/openai-auth-core/HostRequest"
import { Redacted, Result } from "effect"
import fc from "fast-check"
import { withoutMember } from "../src/internal/json-layout.ts"
import { HOST_URL, hostHeaders, mainTurn, userMessage } from "./fixtures/opencode.ts"

type Json = Record<string, unknown>

const ctx: CodexRequestContext = {
  accessToken: Redacted.make("access-token-reuse"),
  accountId: "acct_main",
  settings: { codexApiEndpoint: "http://127.0.0.1:9/backend-api/codex/responses", webSearch: true },
  identity: { originator: "opencode", userAgent: "opencode/1.18.33" },
}

const decode = (text: string, memo?: HostBodyMemo, headers = hostHeaders()): HostRequest => {
  const decoded = decodeHostRequestResult({ url: HOST_URL, method: "POST", headers, body: text }, memo)
  if (Result.isFailure(decoded)) throw decoded.failure
  return decoded.success
}

/** Headers and body of a request prepared through `memo` and of the same text prepared from a plain parse. */
const both = (text: string, memo: HostBodyMemo, headers = hostHeaders()) => {
  const reused = prepareCodexRequest(decode(text, memo, headers), ctx)
  const fresh = prepareCodexRequest(decode(text, undefined, headers), ctx)
  return { reused, fresh }
}

const CALL_IDS = ["call_a", "call_b", "call_c", ""]
const arbItem: fc.Arbitrary<Json> = fc.oneof(
  fc.string({ maxLength: 6 }).map((text) => userMessage(`say ${text}`) as Json),
  fc.record({ role: fc.constant("assistant"), id: fc.constant("msg_1"), content: fc.string({ maxLength: 6 }) }),
  fc.record({ type: fc.constant("reasoning"), id: fc.constant("rs_1"), summary: fc.constant([]) }),
  fc.record({
    type: fc.constantFrom("function_call", "custom_tool_call"),
    id: fc.constantFrom("fc_1", "fc_2"),
    call_id: fc.constantFrom(...CALL_IDS),
    name: fc.constant("read"),
    arguments: fc.constant("{}"),
  }),
  fc.record(
    {
      type: fc.constantFrom("function_call_output", "custom_tool_call_output"),
      call_id: fc.constantFrom(...CALL_IDS),
      output: fc.string({ maxLength: 6 }),
      id: fc.constant("out_1"),
    },
    { requiredKeys: ["type", "output"] },
  ),
  fc.record({ type: fc.constant("item_reference"), id: fc.constant("ref_1") }),
)

/** A first message large enough for the memo to take the bodies apart (it leaves small ones to JSON.parse). */
const OPENING = userMessage(`Read this first. ${"padding text ".repeat(1500)}`)

describe("what the rewrite reuses is what it would build", () => {
  test("property: a conversation grown turn by turn through one memo goes out as from a plain parse", () => {
    let hits = 0
    fc.assert(
      fc.property(
        fc.array(fc.record({ add: fc.array(arbItem, { maxLength: 4 }), retry: fc.boolean() }), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.constantFrom("gpt-5.5", "gpt-5.6-sol"),
        (turns, model) => {
          const memo = new HostBodyMemo()
          let input: Array<unknown> = [OPENING]
          for (const turn of turns) {
            // a retried turn replaces the last item; the others only append
            if (turn.retry && input.length > 1) input = input.slice(0, -1)
            input = [...input, ...turn.add]
            const text = JSON.stringify(mainTurn(input, model))
            const { reused, fresh } = both(text, memo)
            expect(reused.body).toBe(fresh.body)
            expect(reused.headers).toEqual(fresh.headers)
            expect(reused.body).toBe(JSON.stringify(reused.json))
            for (const item of reused.json.input as ReadonlyArray<unknown>) {
              if (typeof item === "object" && item !== null) expect(Object.isFrozen(item)).toBe(true)
            }
          }
          hits += memo.hits
        },
      ),
      { numRuns: 120 },
    )
    expect(hits).toBeGreaterThan(60)
  })
})

describe("SessionTurns: the requests of one user turn share its metadata", () => {
  const turnBody = (session: string, messages: ReadonlyArray<string>, steps = 0) =>
    JSON.stringify({
      ...mainTurn([
        ...messages.map((m) => userMessage(m)),
        ...Array.from({ length: steps }, (_, n) => ({ type: "function_call_output", call_id: `c${n}`, output: "x" })),
      ]),
      prompt_cache_key: session,
    })

  test("within a tool loop the metadata is the very value built for the turn's first request", () => {
    const memo = new HostBodyMemo()
    const first = both(turnBody("ses_a", ["hello"]), memo)
    const next = both(turnBody("ses_a", ["hello"], 2), memo)
    expect(first.reused.headers).toEqual(first.fresh.headers)
    expect(next.reused.headers).toEqual(next.fresh.headers)
    expect(next.reused.headers["x-codex-turn-metadata"]).toBe(first.reused.headers["x-codex-turn-metadata"])
    expect(next.reused.json.client_metadata).toEqual(first.reused.json.client_metadata)
    // kept strings, not new ones: nobody can change the shared value
    const turns = decode(turnBody("ses_a", ["hello"]), memo).turns
    expect(turns).toBe(memo.turns)
  })

  test("a new user message is a new turn; another session keeps its own", () => {
    const memo = new HostBodyMemo()
    const a1 = both(turnBody("ses_a", ["hello"]), memo).reused.headers["x-codex-turn-metadata"]
    const b1 = both(turnBody("ses_b", ["hello"]), memo).reused.headers["x-codex-turn-metadata"]
    const a2 = both(turnBody("ses_a", ["hello", "and now this"]), memo)
    expect(a2.reused.headers).toEqual(a2.fresh.headers)
    expect(a2.reused.headers["x-codex-turn-metadata"]).not.toBe(a1)
    expect(b1).not.toBe(a1)
    const b2 = both(turnBody("ses_b", ["hello"]), memo).reused.headers["x-codex-turn-metadata"]
    expect(b2).toBe(b1)
  })

  test("more sessions than it keeps: the oldest is built again, with the same value", () => {
    const memo = new HostBodyMemo()
    const early = both(turnBody("ses_0", ["hi"]), memo).reused.headers
    for (let n = 1; n <= 40; n++) both(turnBody(`ses_${n}`, ["hi"]), memo)
    const again = both(turnBody("ses_0", ["hi"]), memo)
    expect(again.reused.headers).toEqual(early)
    expect(again.reused.headers).toEqual(again.fresh.headers)
  })
})

describe("withoutMember: an object's text without one member, as JSON.stringify writes the rest", () => {
  const cases: ReadonlyArray<Json> = [
    { id: "a", type: "x" },
    { type: "reasoning", id: "rs_1", summary: [] },
    { role: "assistant", type: "message", id: "m", content: [{ type: "output_text", text: 'q"\\' }] },
    { type: "x", id: "last" },
    { id: "only" },
  ]
  test.each(cases.map((c) => [JSON.stringify(c), c] as const))("%s", (_, value) => {
    const { id: _id, ...rest } = value
    expect(withoutMember(JSON.stringify(value), "id")).toBe(JSON.stringify(rest))
  })

  test("a member behind a value that is not a string is not looked for; a missing one is not found", () => {
    expect(withoutMember(JSON.stringify({ summary: [], id: "a" }), "id")).toBeUndefined()
    expect(withoutMember(JSON.stringify({ n: 1, id: "a" }), "id")).toBeUndefined()
    expect(withoutMember(JSON.stringify({ type: "x", ids: "a" }), "id")).toBeUndefined()
    expect(withoutMember(JSON.stringify({ type: "x" }), "id")).toBeUndefined()
  })
})
