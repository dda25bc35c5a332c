import { describe, expect, test } from "bun:test"
import { type CodexRequestContext, prepareCodexRequest } from "@cortexkit/openai-auth-core/CodexRequest"
import {
  decodeHostRequestResult,
  type HostRequest,
  type HostRequestError,
} from "@cortexkit/openai-auth-core/HostRequest"
import { catalogModel, type Effort } from "@cortexkit/openai-auth-core/Models"
import { UNSUPPORTED_PARAMETERS } from "@cortexkit/openai-auth-testkit/SimRules"
import { startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Redacted, Result } from "effect"
import fc from "fast-check"
import {
  conversation,
  HOST_URL,
  hostHeaders,
  mainTurn,
  openCodeTools,
  pluginsDisabledTurn,
  SESSION,
  stepItems,
  titleTurn,
  userMessage,
} from "./fixtures/opencode.ts"

const ENDPOINT = "http://127.0.0.1:9/backend-api/codex/responses"
const ctx: CodexRequestContext = {
  accessToken: Redacted.make("access-token-123"),
  accountId: "acct_main",
  settings: { codexApiEndpoint: ENDPOINT, webSearch: true },
  // the fixtures are what OpenCode sends: the rewrite is told it is OpenCode
  identity: { originator: "opencode", userAgent: "opencode/1.18.33" },
}

const host = (body: unknown, headers: Record<string, string> = hostHeaders()): HostRequest => {
  const result = decodeHostRequestResult({ url: HOST_URL, method: "POST", headers, body: JSON.stringify(body) })
  if (Result.isFailure(result)) throw new Error(result.failure.message)
  return result.success
}

const prepare = (body: unknown, headers?: Record<string, string>, c: CodexRequestContext = ctx) =>
  prepareCodexRequest(host(body, headers), c)

/** the wire body as text (the rewrite hands it out as text already) */
const text = (body: string) => body
type Json = Record<string, unknown>
const items = (json: Json) => json.input as Array<Json>
const tools = (json: Json) => json.tools as Array<Json>

describe("HostRequest decoding", () => {
  const fail = (body: string | undefined): HostRequestError => {
    const result = decodeHostRequestResult({ url: HOST_URL, body })
    if (Result.isSuccess(result)) throw new Error("expected a failure")
    return result.failure
  }
  test.each([
    ["not JSON", "{model:", "BodyNotJson"],
    ["a JSON array", "[1,2]", "BodyNotObject"],
    ["a JSON string", '"hi"', "BodyNotObject"],
    ["null", "null", "BodyNotObject"],
    ["empty", "", "BodyMissing"],
    ["missing", undefined, "BodyMissing"],
    ["an object without a model", '{"input":[]}', "InvalidRequest"],
  ])("a body that is %s is a HostRequestError", (_, body, reason) => {
    const error = fail(body)
    expect(error._tag).toBe("HostRequestError")
    expect(error.reason).toBe(reason as HostRequestError["reason"])
    expect(error.message.length).toBeGreaterThan(0)
    if (reason === "InvalidRequest") expect(error.message).toContain('["model"]')
  })

  test("headers become a lower-cased record and unknown body fields pass through", () => {
    const result = decodeHostRequestResult({
      url: new URL(HOST_URL),
      method: "post",
      headers: new Headers({ "Session-ID": SESSION, "X-Custom": "1" }),
      body: new TextEncoder().encode(JSON.stringify({ model: "gpt-5.5", some_future_field: { a: 1 } })),
    })
    if (Result.isFailure(result)) throw new Error("decode failed")
    expect(result.success.method).toBe("POST")
    expect(result.success.headers).toEqual({ "session-id": SESSION, "x-custom": "1" })
    expect(result.success.body.some_future_field).toEqual({ a: 1 })
  })
})

describe("prepareCodexRequest: main turn", () => {
  const prepared = prepare(mainTurn())
  const json = prepared.json

  test("url, model and headers", () => {
    expect(prepared.url).toBe(ENDPOINT)
    expect(prepared.model).toBe("gpt-5.5")
    expect(prepared.headers.authorization).toBe("Bearer access-token-123")
    expect(prepared.headers["chatgpt-account-id"]).toBe("acct_main")
    expect(prepared.headers.originator).toBe("opencode")
    expect(prepared.headers["user-agent"]).toStartWith("opencode/1.18.33 (linux")
    expect(prepared.headers["session-id"]).toBe(SESSION)
    expect(prepared.headers["x-client-request-id"]).toBe(SESSION)
    expect(prepared.headers.accept).toBe("text/event-stream")
    expect(prepared.headers["content-type"]).toBe("application/json")
    expect(prepared.headers["x-openai-internal-codex-responses-lite"]).toBeUndefined()
  })

  test("the host's credentials, internal and session headers are dropped", () => {
    const p = prepare(
      mainTurn(),
      hostHeaders({
        "x-api-key": "sk-x",
        "openai-beta": "responses=experimental",
        conversation_id: "c",
        "x-opencode-title": "1",
        "content-length": "123",
      }),
    )
    for (const name of ["x-api-key", "openai-beta", "conversation_id", "x-opencode-title", "content-length"]) {
      expect(p.headers[name]).toBeUndefined()
    }
    expect(p.headers.authorization).toBe("Bearer access-token-123")
    // OpenCode's session headers give the key but do not go on (the Codex identity is session-id/thread-id)
    expect(p.headers["x-session-affinity"]).toBeUndefined()
    expect(p.headers["x-session-id"]).toBeUndefined()
    expect(p.headers["session-id"]).toBe(SESSION)
  })

  test("the body satisfies the backend and keeps OpenCode's choices", () => {
    expect(json.store).toBe(false)
    expect(json.stream).toBe(true)
    expect(typeof json.instructions).toBe("string")
    expect((json.instructions as string).length).toBeGreaterThan(1000)
    expect(json.include).toEqual(["reasoning.encrypted_content"])
    expect(json.prompt_cache_key).toBe(SESSION)
    expect(json.reasoning).toEqual({ effort: "medium", summary: "auto" })
    expect(json.text).toEqual({ verbosity: "low" })
    expect(json.tool_choice).toBe("auto")
    expect(JSON.parse(text(prepared.body))).toEqual(json)
  })

  test("9 function tools keep strict:false, lose $schema, and gain one web_search", () => {
    const list = tools(json)
    expect(list).toHaveLength(10)
    for (const tool of list.slice(0, 9)) {
      expect(tool.type).toBe("function")
      expect(tool.strict).toBe(false)
      expect((tool.parameters as Json).$schema).toBeUndefined()
      expect((tool.parameters as Json).type).toBe("object")
    }
    expect(list[9]).toEqual({ type: "web_search", external_web_access: false, search_content_types: ["text", "image"] })
  })

  test("top-level keys are in the Codex order", () => {
    expect(Object.keys(JSON.parse(text(prepared.body)))).toEqual([
      "model",
      "instructions",
      "input",
      "tools",
      "tool_choice",
      "parallel_tool_calls",
      "reasoning",
      "store",
      "stream",
      "include",
      "prompt_cache_key",
      "text",
      "client_metadata",
    ])
  })

  test("parallel_tool_calls the host left out comes from the catalog; the host's own choice stays", () => {
    expect(json.parallel_tool_calls).toBe(true)
    expect(prepare({ ...mainTurn(), parallel_tool_calls: false }).json.parallel_tool_calls).toBe(false)
    expect(prepare({ ...mainTurn(conversation(0), "gpt-9-unknown") }).json.parallel_tool_calls).toBeUndefined()
  })

  test("webSearch off: no stabilizer tool", () => {
    const p = prepare(mainTurn(), undefined, { ...ctx, settings: { ...ctx.settings, webSearch: false } })
    expect(tools(p.json)).toHaveLength(9)
  })
})

describe("prepareCodexRequest: title turn and plugins disabled", () => {
  test("title turn: no tools are added, effort none becomes the lowest gpt-5.5 level", () => {
    const p = prepare(titleTurn())
    expect(p.json.tools).toBeUndefined()
    expect(p.json.reasoning).toEqual({ effort: "low", summary: "auto" })
    expect(p.json.instructions).toBe("You are a title generator. You output ONLY a thread title.")
    expect(p.sessionKey).toBe(SESSION) // from the session-id header: the title body has no prompt_cache_key
    expect(p.json.prompt_cache_key).toBe(SESSION)
  })

  test("title turn on gpt-5.4: none is not among its efforts in codex-rs's catalog, so the lowest level", () => {
    expect((prepare(titleTurn("gpt-5.4")).json.reasoning as Json).effort).toBe("low")
  })

  test("system/developer messages move into instructions; rejected fields go", () => {
    const p = prepare(pluginsDisabledTurn(), { "user-agent": "opencode/1.18.33" })
    expect(p.json.instructions as string).toEndWith("\nBe brief.")
    expect(p.json.instructions as string).toStartWith("You are opencode")
    expect(items(p.json)[0]).toEqual(userMessage("Refactor the request pipeline and add tests."))
    expect(p.json.max_output_tokens).toBeUndefined()
    expect(p.json.temperature).toBeUndefined()
    expect(p.headers.originator).toBe("opencode")
  })

  test("missing instructions become an empty string; a string input becomes a list", () => {
    const p = prepare({ model: "gpt-5.5", input: "hello" }, {})
    expect(p.json.instructions).toBe("")
    expect(p.json.input).toEqual([{ role: "user", content: [{ type: "input_text", text: "hello" }] }])
    expect(p.headers["user-agent"]).toStartWith("opencode/")
  })

  test("a system message after the conversation started becomes a developer message in place", () => {
    const input = [...conversation(1), { role: "system", content: "Plan mode is off." }, userMessage("go")]
    const p = prepare(mainTurn(input))
    expect(items(p.json)[5]).toEqual({ role: "developer", content: "Plan mode is off." })
  })
})

describe("prepareCodexRequest: rules", () => {
  test("every unsupported field is removed, previous_response_id too", () => {
    const body = {
      ...mainTurn(),
      max_output_tokens: 1,
      max_completion_tokens: 1,
      max_tokens: 1,
      temperature: 1,
      top_p: 1,
      presence_penalty: 0,
      frequency_penalty: 0,
      seed: 7,
      metadata: { a: "b" },
      top_logprobs: 2,
      truncation: "auto",
      user: "u",
      service_tier: "auto",
      previous_response_id: "resp_1",
    }
    const p = prepare(body)
    for (const key of Object.keys(body)) {
      if (!(key in mainTurn())) expect(p.json[key]).toBeUndefined()
    }
  })

  test("service_tier priority is kept", () => {
    expect(prepare({ ...mainTurn(), service_tier: "priority" }).json.service_tier).toBe("priority")
  })

  test("item ids and item references are dropped; calls, outputs and reasoning stay", () => {
    const input = [
      ...conversation(2),
      { type: "item_reference", id: "rs_gone" },
      { type: "reasoning", id: "rs_x", summary: [], content: [{ type: "reasoning_text", text: "raw" }] },
    ]
    const list = items(prepare(mainTurn(input)).json)
    expect(list).toHaveLength(input.length - 1)
    for (const item of list) expect("id" in item).toBe(false)
    expect(list.filter((i) => i.type === "function_call").map((i) => i.call_id)).toEqual(["call_0", "call_1"])
    expect(list.filter((i) => i.type === "function_call_output")).toHaveLength(2)
    expect(list[1]).toEqual({
      type: "reasoning",
      encrypted_content: (stepItems(0)[0] as Json).encrypted_content,
      summary: [{ type: "summary_text", text: "Looking at file 0" }],
    })
    expect(list.at(-1)).toEqual({ type: "reasoning", summary: [] })
  })

  test.each([
    ["gpt-5.6-sol", "ultra", "max"],
    ["gpt-5.5", "ultra", "xhigh"],
    ["gpt-5.5", "minimal", "low"],
    ["gpt-5.4", "minimal", "low"],
    ["gpt-6-astra", "none", "low"],
    ["gpt-5.5", "xhigh", "xhigh"],
    ["gpt-5.5", "max", "xhigh"],
    ["gpt-5.6-luna", "high", "high"],
  ])("%s effort %s goes out as %s", (model, effort, wire) => {
    const p = prepare({ ...mainTurn(conversation(0), model), reasoning: { effort, summary: "auto" } })
    expect((p.json.reasoning as Json).effort).toBe(wire)
  })

  test.each([
    ["the host's prompt_cache_key", { prompt_cache_key: "pck_1" }, hostHeaders(), "pck_1"],
    ["the session-id header", { prompt_cache_key: undefined }, hostHeaders(), SESSION],
    ["x-session-affinity", { prompt_cache_key: undefined }, { "x-session-affinity": "aff_1" }, "aff_1"],
  ])("the session key comes from %s", (_, patch, headers, key) => {
    const p = prepare({ ...mainTurn(), ...patch }, headers)
    expect(p.sessionKey).toBe(key)
    expect(p.json.prompt_cache_key).toBe(key)
    expect(p.headers["session-id"]).toBe(key)
  })

  test("without any session identity the key is derived, stable across turns, never random", () => {
    const turn = (steps: number) => ({ ...mainTurn(conversation(steps)), prompt_cache_key: undefined })
    const a = prepare(turn(1), {})
    const b = prepare(turn(1), {})
    const c = prepare(turn(3), {})
    expect(a.sessionKey).toStartWith("ses_derived_")
    expect(b.sessionKey).toBe(a.sessionKey)
    expect(c.sessionKey).toBe(a.sessionKey)
    expect(prepare(turn(1), {}, { ...ctx, sessionId: "ses_given" }).sessionKey).toBe("ses_given")
  })

  test("preparing the same host request twice (one per candidate account) gives the same bytes", () => {
    const h = host(pluginsDisabledTurn())
    const first = prepareCodexRequest(h, ctx)
    const second = prepareCodexRequest(h, { ...ctx, accountId: "acct_b" })
    expect(text(second.body)).toBe(text(first.body))
    expect(second.headers["chatgpt-account-id"]).toBe("acct_b")
    const again = prepare(JSON.parse(text(first.body)))
    expect(text(again.body)).toBe(text(first.body))
  })
})

describe("byte stability across turns", () => {
  const turns = [0, 1, 2, 5].map((steps) => text(prepare(mainTurn(conversation(steps))).body))
  const inputEnd = (s: string) => s.indexOf('],"tools":')

  test("each turn starts with the previous turn's bytes up to the end of its input items", () => {
    for (let n = 1; n < turns.length; n++) {
      const previous = turns[n - 1] as string
      const current = turns[n] as string
      const prefix = previous.slice(0, inputEnd(previous))
      expect(current.startsWith(prefix)).toBe(true)
      expect(current.length).toBeGreaterThan(previous.length)
    }
  })

  test("instructions and tools serialize identically on every turn", () => {
    const tail = (s: string) => s.slice(inputEnd(s))
    const first = tail(turns[0] as string)
    for (const t of turns) expect(tail(t)).toBe(first)
  })
})

// ---------------------------------------------------------------------------------------------------------
// Property: whatever OpenCode-like body comes in, what goes out passes the backend's validation.

const MODELS = ["gpt-5.5", "gpt-5.4", "gpt-5.4-mini", "gpt-5.2", "gpt-5.6-sol", "gpt-5.6-luna", "gpt-6-astra", "gpt-7"]
const EFFORTS = ["none", "minimal", "low", "medium", "high", "xhigh", "max", "ultra", "bogus"]
// what the backend refuses (the simulator's judge) and what makes no sense without stored responses
const BANNED = [...Object.keys(UNSUPPORTED_PARAMETERS), "background", "user", "previous_response_id"]

const arbItem = fc.oneof(
  fc.string().map((t) => userMessage(t)),
  fc.record({ role: fc.constantFrom("system", "developer"), content: fc.string() }),
  fc.nat(50).map((n) => stepItems(n)[0]),
  fc.nat(50).map((n) => stepItems(n)[1]),
  fc.nat(50).map((n) => stepItems(n)[3]),
  fc.string().map((id) => ({ type: "item_reference", id })),
)

const arbBody = fc.record(
  {
    model: fc.constantFrom(...MODELS),
    instructions: fc.option(fc.string(), { nil: undefined }),
    input: fc.oneof(fc.array(arbItem, { maxLength: 12 }), fc.string()),
    tools: fc.option(
      fc.shuffledSubarray([...openCodeTools(), { type: "web_search" }, { type: "image_generation" }], {
        maxLength: 5,
      }),
      { nil: undefined },
    ),
    reasoning: fc.option(fc.record({ effort: fc.constantFrom(...EFFORTS), summary: fc.constant("auto") }), {
      nil: undefined,
    }),
    store: fc.boolean(),
    stream: fc.boolean(),
    include: fc.option(fc.constant(["file_search_call.results"]), { nil: undefined }),
    prompt_cache_key: fc.option(fc.string({ minLength: 1 }), { nil: undefined }),
    service_tier: fc.option(fc.constantFrom("auto", "priority", "flex"), { nil: undefined }),
    extra: fc.subarray(BANNED),
  },
  { requiredKeys: ["model", "input", "extra"] },
)

const arbHeaders = fc.option(
  fc.record(
    { "session-id": fc.string({ minLength: 1 }), "x-session-affinity": fc.string({ minLength: 1 }) },
    {
      requiredKeys: [],
    },
  ),
  { nil: {} },
)

const backendAccepts = (p: ReturnType<typeof prepare>) => {
  const body = JSON.parse(text(p.body)) as Json
  const lite = catalogModel(body.model as string)?.responsesLite === true
  expect(typeof body.instructions).toBe(lite ? "undefined" : "string")
  expect(p.headers["x-openai-internal-codex-responses-lite"]).toBe(lite ? "true" : undefined)
  expect(p.headers.version).toMatch(/^\d+\.\d+\.\d+$/)
  expect(Array.isArray(body.input)).toBe(true)
  expect(body.store).toBe(false)
  expect(body.stream).toBe(true)
  expect(body.include as Array<string>).toContain("reasoning.encrypted_content")
  for (const key of BANNED) expect(body[key]).toBeUndefined()
  expect(body.service_tier === undefined || body.service_tier === "priority").toBe(true)
  const calls = new Set<string>()
  for (const item of body.input as Array<Json>) {
    expect("id" in item).toBe(false)
    expect(item.type).not.toBe("item_reference")
    expect(item.role).not.toBe("system")
    if (item.type === "function_call") calls.add(item.call_id as string)
    if (item.type === "function_call_output") expect(calls.has(item.call_id as string)).toBe(true)
  }
  const effort = (body.reasoning as Json | undefined)?.effort
  if (effort !== undefined) {
    const entry = catalogModel(body.model as string)
    const allowed = entry === undefined ? ["low", "medium", "high", "xhigh", "max"] : entry.efforts
    expect(allowed).toContain(effort as Effort)
    expect(effort).not.toBe("ultra")
  }
  const list = ((lite ? (body.input as Array<Json>)[0]?.tools : body.tools) as Array<Json> | undefined) ?? []
  expect(list.filter((t) => t.type === "web_search").length).toBeLessThanOrEqual(lite ? 0 : 1)
  for (const tool of list.filter((t) => t.type === "function")) {
    expect(tool.strict).toBe(false)
    expect((tool.parameters as Json).$schema).toBeUndefined()
  }
  expect(typeof body.prompt_cache_key).toBe("string")
  expect((body.prompt_cache_key as string).length).toBeGreaterThan(0)
  expect(p.headers["session-id"]).toBe(body.prompt_cache_key as string)
  expect(p.headers.authorization).toBe("Bearer access-token-123")
  expect(Object.keys(body).slice(0, 2)).toEqual(["model", lite ? "input" : "instructions"])
}

describe("properties", () => {
  test("every prepared request satisfies the backend's validation rules", () => {
    fc.assert(
      fc.property(arbBody, arbHeaders, ({ extra, ...body }, headers) => {
        const withExtra: Json = { ...body }
        for (const key of extra) withExtra[key] = 1
        backendAccepts(prepare(withExtra, headers))
      }),
      { numRuns: 300 },
    )
  })

  test("rewriting is idempotent: a prepared body prepared again gives the same bytes", () => {
    fc.assert(
      fc.property(arbBody, arbHeaders, ({ extra: _, ...body }, headers) => {
        const once = prepare(body, headers)
        const twice = prepare(JSON.parse(text(once.body)), headers)
        expect(text(twice.body)).toBe(text(once.body))
        expect(twice.sessionKey).toBe(once.sessionKey)
      }),
      { numRuns: 300 },
    )
  })
})

describe("against the Codex simulator", () => {
  test("prepared requests are accepted (200, SSE) and a later turn hits the prompt cache", async () => {
    const sim = await startSimulator()
    try {
      const account = sim.addAccount({ accountId: "acct_sim" })
      const simCtx: CodexRequestContext = {
        accessToken: Redacted.make(account.tokens.access),
        accountId: "acct_sim",
        settings: { codexApiEndpoint: sim.codexEndpoint, webSearch: true },
        identity: { originator: "opencode", userAgent: "opencode/1.18.33" },
      }
      const send = async (body: Json) => {
        const p = prepare(body, hostHeaders(), simCtx)
        const response = await fetch(p.url, { method: "POST", headers: p.headers, body: p.body })
        return { status: response.status, type: response.headers.get("content-type"), text: await response.text() }
      }
      const first = await send(pluginsDisabledTurn())
      expect(first.status).toBe(200)
      expect(first.type).toBeNull() // like the live backend: SSE without a Content-Type
      expect(first.text).toContain("response.completed")

      // the raw host bodies would be refused: ids and max_output_tokens
      const raw = await fetch(sim.codexEndpoint, {
        method: "POST",
        headers: { authorization: `Bearer ${account.tokens.access}`, "chatgpt-account-id": "acct_sim" },
        body: JSON.stringify(pluginsDisabledTurn()),
      })
      expect(raw.status).toBe(400)

      const second = await send(mainTurn(conversation(2)))
      expect(second.status).toBe(200)
      const third = await send(mainTurn(conversation(4)))
      expect(third.status).toBe(200)
      const recorded = sim.requests.filter((r) => r.path.endsWith("/codex/responses") && r.usage !== undefined)
      expect(recorded.at(-1)?.headers["session-id"]).toBe(SESSION)
      expect(recorded.at(-1)?.usage?.input_tokens_details.cached_tokens ?? 0).toBeGreaterThan(0)
    } finally {
      await sim.stop()
    }
  })
})

describe("pool keys", () => {
  test("a request the host sent without a cache key gets its own pool key; a conversation turn uses its session's", () => {
    const main = prepare(mainTurn())
    expect(main.poolKey).toBe(main.sessionKey)
    const title = host(titleTurn())
    const first = prepareCodexRequest(title, ctx)
    expect(first.sessionKey).toBe(main.sessionKey)
    expect(first.poolKey).not.toBe(first.sessionKey)
    // preparing again (another account) gives the same key, and the marker never reaches the wire
    const again = prepareCodexRequest(title, ctx)
    expect(again.poolKey).toBe(first.poolKey)
    expect(again.body).toBe(first.body)
    expect(JSON.parse(again.body)).toMatchObject({ prompt_cache_key: first.sessionKey })
  })
})
