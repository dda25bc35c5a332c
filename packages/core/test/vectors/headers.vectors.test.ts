/**
 * Header vectors ported (rewritten) from other implementations' public tests and the seed's implementation;
 * each case names its source. Our decisions for thread-id, x-codex-window-id and x-codex-turn-metadata are in
 * docs/protocol.md §3.1.
 */
import { describe, expect, test } from "bun:test"
import { call, type Json, output, prepare, user } from "./support.ts"

const NA = "numman-ali/opencode-openai-codex-auth test/fetch-helpers.test.ts"
const IB = "iam-brain/opencode-codex-auth test/codex-native-spoof-mode.test.ts"
const IB_VERSION = "iam-brain/opencode-codex-auth test/codex-native-client-version.test.ts"
const CK = "cortexkit/openai-auth packages/opencode/src/index.ts prepareCodexRequest"
const CX = "openai/codex codex-rs/core/src/responses_metadata.rs"

const turn = (input: ReadonlyArray<unknown>, headers: Record<string, string> = { "session-id": "ses_t" }) =>
  prepare({ model: "gpt-5.5", instructions: "x", input }, headers)

const meta = (p: ReturnType<typeof turn>): Json => JSON.parse(p.headers["x-codex-turn-metadata"] ?? "{}") as Json

describe("identity and transport headers", () => {
  // NA "createCodexHeaders › should create headers with all required fields when cache key provided"
  test(`${NA}: bearer token, account id, event-stream accept`, () => {
    const p = turn([user("hi")])
    expect(p.headers.authorization).toBe("Bearer vector-access-token")
    expect(p.headers["chatgpt-account-id"]).toBe("acct_vector")
    expect(p.headers.accept).toBe("text/event-stream")
    expect(p.headers["content-type"]).toBe("application/json")
  })

  // NA "should remove x-api-key header"
  test(`${NA}: the host's x-api-key and authorization do not go on`, () => {
    const p = turn([user("hi")], { "x-api-key": "sk-x", authorization: "Bearer host", "session-id": "s" })
    expect(p.headers["x-api-key"]).toBeUndefined()
    expect(p.headers.authorization).toBe("Bearer vector-access-token")
  })

  // NA "should preserve other existing headers"
  test(`${NA}: other host headers pass through`, () => {
    expect(turn([user("hi")], { "x-custom-header": "v", "session-id": "s" }).headers["x-custom-header"]).toBe("v")
  })

  // NA "should use provided promptCacheKey for both conversation_id and session_id" — that is older Codex;
  // current Codex (and IB, CK) send the hyphenated session-id and no conversation_id (docs/protocol.md §3.1)
  test(`${NA} + ${IB}: the key goes as session-id, no session_id / conversation_id (deviation from NA)`, () => {
    const p = prepare(
      { model: "gpt-5.5", input: [], prompt_cache_key: "session-1" },
      { session_id: "x", conversation_id: "y" },
    )
    expect(p.headers["session-id"]).toBe("session-1")
    expect(p.headers.session_id).toBeUndefined()
    expect(p.headers.conversation_id).toBeUndefined()
  })

  // NA "does not set conversation/session headers when no promptCacheKey provided" vs IB "uses sessionID as
  // codex-mode session-id when prompt cache key is absent": IB (and the seed's implementation) win
  test(`${IB}: without a prompt_cache_key the host's session id is the session-id`, () => {
    expect(turn([user("hi")], { "session-id": "ses_strict_fallback" }).headers["session-id"]).toBe(
      "ses_strict_fallback",
    )
  })

  // IB "uses native headers by default": originator opencode, User-Agent opencode/..., no OpenAI-Beta
  test(`${IB}: originator opencode, an opencode/ user agent, no OpenAI-Beta on HTTP`, () => {
    const p = turn([user("hi")], { "openai-beta": "responses=experimental", "session-id": "s" })
    expect(p.headers.originator).toBe("opencode")
    expect(p.headers["user-agent"]).toMatch(/^opencode\//)
    expect(p.headers["openai-beta"]).toBeUndefined()
  })

  // CK: x-client-request-id is the thread id, not a fresh per-request id
  test(`${CK}: x-client-request-id = thread-id = session-id`, () => {
    const p = turn([user("hi")], { "session-id": "ses_abc" })
    expect(p.headers["x-client-request-id"]).toBe("ses_abc")
    expect(p.headers["thread-id"]).toBe("ses_abc")
  })

  // CK: OpenCode's own x-session-id / x-session-affinity are not Codex headers
  test(`${CK}: x-session-id and x-session-affinity are dropped`, () => {
    const p = turn([user("hi")], { "session-id": "s", "x-session-id": "s", "x-session-affinity": "s" })
    expect(p.headers["x-session-id"]).toBeUndefined()
    expect(p.headers["x-session-affinity"]).toBeUndefined()
  })
})

describe("the version header", () => {
  // IB "falls back to 0.144.0 when cache file is missing"; CK CODEX_VERSION 0.144.0 ("gpt-5.6 requires Codex
  // client >= 0.144.0 ... also works for gpt-5.4/5.5")
  test(`${IB_VERSION} + cortexkit index.ts CODEX_VERSION: 0.144.0 for the catalog's models`, () => {
    for (const model of ["gpt-5.5", "gpt-5.4", "gpt-5.6-sol", "gpt-5.2"]) {
      expect(prepare({ model, input: [] }).headers.version).toBe("0.144.0")
    }
  })

  // pleaseai/shunt#458, openai/codex-plugin-cc#309: gpt-6-astra needs 0.153.0
  test("openai/codex-plugin-cc#309: a model whose minimum is newer gets its own minimum", () => {
    expect(prepare({ model: "gpt-6-astra", input: [] }).headers.version).toBe("0.153.0")
  })

  test("the codexVersion setting overrides it, and a host version header never reaches the backend", () => {
    expect(prepare({ model: "gpt-5.5", input: [] }, { version: "9.9.9" }).headers.version).toBe("0.144.0")
    expect(prepare({ model: "gpt-5.5", input: [] }, {}, { codexVersion: "0.153.4" }).headers.version).toBe("0.153.4")
  })
})

describe("window and turn metadata", () => {
  // CK: `${threadID}:0`; codex-rs: <thread_id>:<window generation>
  test(`${CK} + ${CX}: x-codex-window-id is the thread id and window 0`, () => {
    expect(turn([user("hi")], { "session-id": "ses_w" }).headers["x-codex-window-id"]).toBe("ses_w:0")
  })

  // codex-rs CodexTurnMetadataPayload field order: session_id, thread_id, turn_id, window_id, request_kind
  test(`${CX}: turn metadata fields in codex-rs's order`, () => {
    const p = turn([user("hi")], { "session-id": "ses_m" })
    expect(Object.keys(meta(p))).toEqual(["session_id", "thread_id", "turn_id", "window_id", "request_kind"])
    expect(meta(p)).toMatchObject({
      session_id: "ses_m",
      thread_id: "ses_m",
      window_id: "ses_m:0",
      request_kind: "turn",
    })
    expect(meta(p).turn_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  })

  // codex-rs client_metadata(): session_id, thread_id, x-codex-window-id, turn_id, x-codex-turn-metadata
  test(`${CX}: client_metadata carries the same identity`, () => {
    const p = turn([user("hi")], { "session-id": "ses_c" })
    expect(p.wire.client_metadata).toEqual({
      session_id: "ses_c",
      thread_id: "ses_c",
      "x-codex-window-id": "ses_c:0",
      turn_id: meta(p).turn_id,
      "x-codex-turn-metadata": p.headers["x-codex-turn-metadata"],
    })
  })

  // CK startsHttpUserTurn / docs/protocol.md §8: the turn id stays within one tool loop
  test(`${CK}: the same turn id across a tool loop`, () => {
    const a = turn([user("fix it")])
    const b = turn([user("fix it"), call("c1"), output("c1")])
    const c = turn([user("fix it"), call("c1"), output("c1"), call("c2"), output("c2")])
    expect(meta(b).turn_id).toBe(meta(a).turn_id)
    expect(meta(c).turn_id).toBe(meta(a).turn_id)
  })

  // CK startsHttpUserTurn: a new user message starts a new turn
  test(`${CK}: a new user message is a new turn id`, () => {
    const a = turn([user("fix it"), call("c1"), output("c1")])
    const b = turn([user("fix it"), call("c1"), output("c1"), user("now test it")])
    expect(meta(b).turn_id).not.toBe(meta(a).turn_id)
  })

  test("the same words again later are still a new turn (the count of user turns is part of the id)", () => {
    const a = turn([user("go")])
    const b = turn([user("go"), { type: "message", role: "assistant", content: "done" }, user("go")])
    expect(meta(b).turn_id).not.toBe(meta(a).turn_id)
  })

  test("another session, another turn id", () => {
    expect(meta(turn([user("go")], { "session-id": "a" })).turn_id).not.toBe(
      meta(turn([user("go")], { "session-id": "b" })).turn_id,
    )
  })

  // codex-rs writes header JSON ASCII-only (to_ascii_json_string)
  test(`${CX} to_ascii_json_string: a non-ASCII session key is escaped in the metadata header`, () => {
    const header = turn([user("hi")], { "session-id": "sé" }).headers["x-codex-turn-metadata"] ?? ""
    expect(header).toContain("s\\u00e9")
    expect(/^[\x20-\x7e]*$/.test(header)).toBe(true)
    expect(JSON.parse(header).session_id).toBe("sé")
  })
})
