/**
 * The simulator refuses what the real backend refuses, with its status and text, over HTTP and over the
 * WebSocket (as an `error` frame). Sources per rule in src/SimRules.ts and docs/protocol.md.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { codexBody, codexHeaders, userMessage } from "../src/SimClient.ts"
import { type SimAccount, type SimulatorHandle, startSimulator } from "../src/Simulator.ts"

let sim: SimulatorHandle
let acct: SimAccount
beforeAll(async () => {
  sim = await startSimulator()
  acct = sim.addAccount({ accountId: "acct_strict" })
})
afterAll(() => sim.stop())

type Json = Record<string, unknown>

const LITE = "x-openai-internal-codex-responses-lite"
const liteBody = (extra: Json = {}): Json =>
  codexBody({
    model: "gpt-5.6-sol",
    instructions: undefined,
    tools: undefined,
    input: [
      { type: "additional_tools", role: "developer", tools: [{ type: "function", name: "read", parameters: {} }] },
      { type: "message", role: "developer", content: [{ type: "input_text", text: "You are a test." }] },
      userMessage("hello"),
    ],
    reasoning: { effort: "low", context: "all_turns" },
    parallel_tool_calls: false,
    ...extra,
  })

const call = (id: string) => ({ type: "function_call", call_id: id, name: "read", arguments: "{}" })
const output = (id: string) => ({ type: "function_call_output", call_id: id, output: "ok" })

interface Case {
  readonly name: string
  readonly body: Json
  readonly headers?: Record<string, string | undefined>
  /** a Responses Lite request: the Lite header over HTTP, its client_metadata key over the WebSocket */
  readonly lite?: boolean
  readonly status: number
  /** the HTTP body; the WebSocket frame carries the same refusal as its `error` */
  readonly refusal?: Json
}

const detail = (text: string) => ({ detail: text })
const apiError = (message: string, param: string | null, code: string | null) => ({
  error: { message, type: "invalid_request_error", param, code },
})
const newerVersion = (model: string) =>
  detail(
    `The '${model}' model requires a newer version of Codex. Please upgrade to the latest app or CLI and try again.`,
  )

const CASES: ReadonlyArray<Case> = [
  // §3.2: sudocode#15, ai-tools-mng#79
  { name: "a string input", body: codexBody({ input: "hi" }), status: 400, refusal: detail("Input must be a list") },
  // §3.2: NA/ND ARCHITECTURE.md, sudocode#15
  { name: "store true", body: codexBody({ store: true }), status: 400, refusal: detail("Store must be set to false") },
  // §3.2: stakpak#739, cleo#1079, loreai#968
  {
    name: "stream false",
    body: codexBody({ stream: false }),
    status: 400,
    refusal: detail("Stream must be set to true"),
  },
  {
    name: "stream left out",
    body: codexBody({ stream: undefined }),
    status: 400,
    refusal: detail("Stream must be set to true"),
  },
  // §3.3: ChatMock#103, sub2api#3954, BYOKEY#69, dario#1009
  ...["max_output_tokens", "temperature", "top_p", "seed", "metadata", "truncation"].map((name) => ({
    name: `the unsupported parameter ${name}`,
    body: codexBody({ [name]: 1 }),
    status: 400,
    refusal: detail(`Unsupported parameter: ${name}`),
  })),
  // §3.2: sub2api#2257, llxprt-code#1197
  {
    name: "missing instructions",
    body: codexBody({ instructions: undefined }),
    status: 400,
    refusal: detail("Instructions are required"),
  },
  // §3.3: openai/codex#25838
  {
    name: "a model a ChatGPT account is not served",
    body: codexBody({ model: "gpt-5.3-codex" }),
    status: 400,
    refusal: detail("The 'gpt-5.3-codex' model is not supported when using Codex with a ChatGPT account."),
  },
  // §3.1 version: OmniRoute#1575, #1608, openai/codex#31826
  {
    name: "no version header",
    body: codexBody(),
    headers: { version: undefined },
    status: 400,
    refusal: newerVersion("gpt-5.5"),
  },
  {
    name: "a version older than the model's minimum",
    body: codexBody(),
    headers: { version: "0.123.9" },
    status: 400,
    refusal: newerVersion("gpt-5.5"),
  },
  { name: "the model's minimal version", body: codexBody(), headers: { version: "0.124.0" }, status: 200 },
  {
    name: "gpt-6-astra with a 0.144 client",
    body: codexBody({ model: "gpt-6-astra" }),
    status: 400,
    refusal: newerVersion("gpt-6-astra"),
  },
  // openai/codex#30403, #31150
  {
    name: "the Lite flag on a model that is not Lite",
    body: codexBody({ client_metadata: { ws_request_header_x_openai_internal_codex_responses_lite: "true" } }),
    headers: { [LITE]: "true" },
    status: 400,
    refusal: apiError(
      "This model is not supported when using X-OpenAI-Internal-Codex-Responses-Lite.",
      "model",
      "unsupported_value",
    ),
  },
  // ndycode/oc-codex-multi-auth#191, earendil-works/pi#6516
  {
    name: "a Lite model asked the non-Lite way",
    body: codexBody({ model: "gpt-5.6-sol" }),
    status: 400,
    refusal: apiError(
      "Invalid value for 'reasoning.context': this model requires 'all_turns' over X-OpenAI-Internal-Codex-Responses-Lite.",
      "reasoning.context",
      "unsupported_value",
    ),
  },
  {
    name: "a Lite request without reasoning.context",
    body: liteBody({ reasoning: { effort: "low" } }),
    lite: true,
    status: 400,
    refusal: apiError(
      "Invalid value for 'reasoning.context': this model requires 'all_turns' over X-OpenAI-Internal-Codex-Responses-Lite.",
      "reasoning.context",
      "unsupported_value",
    ),
  },
  // openai/codex#31870
  {
    name: "a hosted tool on a Lite request",
    body: liteBody({
      input: [{ type: "additional_tools", role: "developer", tools: [{ type: "web_search" }] }, userMessage("x")],
    }),
    lite: true,
    status: 400,
    refusal: apiError(
      "X-OpenAI-Internal-Codex-Responses-Lite only supports function tools, custom tools, and client-executed tool search.",
      "tools",
      "unsupported_value",
    ),
  },
  { name: "a Lite request in the Lite shape", body: liteBody(), lite: true, status: 200 },
  // §3.4: vercel/ai#7543, oh-my-pi#41 (404)
  {
    name: "an item id with store:false",
    body: codexBody({ input: [{ ...userMessage("x"), id: "msg_1" }] }),
    status: 404,
    refusal: apiError(
      "Item with id 'msg_1' not found. Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from your input.",
      "input",
      null,
    ),
  },
  {
    name: "an item_reference",
    body: codexBody({ input: [userMessage("x"), { type: "item_reference", id: "rs_1" }] }),
    status: 404,
    refusal: apiError(
      "Item with id 'rs_1' not found. Items are not persisted when `store` is set to false. Try again with `store` set to true, or remove this item from your input.",
      "input",
      null,
    ),
  },
  // §3.4: microsoft/vscode#320060, cline#9288
  {
    name: "an orphaned function_call_output",
    body: codexBody({ input: [userMessage("x"), output("call_9")] }),
    status: 400,
    refusal: apiError("No tool call found for function call output with call_id call_9.", "input", null),
  },
  {
    name: "an output before its call",
    body: codexBody({ input: [userMessage("x"), output("call_1"), call("call_1")] }),
    status: 400,
    refusal: apiError("No tool call found for function call output with call_id call_1.", "input", null),
  },
  // smallmain/vscode-unify-chat-provider#40, OmniRoute#8946
  {
    name: "a function call without its output",
    body: codexBody({ input: [userMessage("x"), call("call_2")] }),
    status: 400,
    refusal: apiError("No tool output found for function call call_2.", "input", null),
  },
  {
    name: "a custom tool call without its output",
    body: codexBody({
      input: [userMessage("x"), { type: "custom_tool_call", call_id: "call_3", name: "apply_patch", input: "x" }],
    }),
    status: 400,
    refusal: apiError("No tool output found for custom tool call call_3.", "input", null),
  },
  {
    name: "a call and its output",
    body: codexBody({ input: [userMessage("x"), call("call_1"), output("call_1")] }),
    status: 200,
  },
]

const headersFor = (c: Case, ws: boolean): Record<string, string> => {
  const out: Record<string, string> = { ...codexHeaders(acct) }
  for (const [key, value] of Object.entries(c.headers ?? {})) {
    if (value === undefined) delete out[key]
    else out[key] = value
  }
  if (c.lite === true && !ws) out[LITE] = "true"
  return out
}

describe("over HTTP", () => {
  for (const c of CASES) {
    test(`${c.name}: ${c.status}`, async () => {
      const res = await fetch(sim.codexEndpoint, {
        method: "POST",
        headers: headersFor(c, false),
        body: JSON.stringify(c.body),
      })
      expect(res.status).toBe(c.status)
      if (c.refusal !== undefined) expect(await res.json()).toEqual(c.refusal)
      else expect(await res.text()).toContain("response.completed")
    })
  }
})

const wsTurn = async (headers: Record<string, string>, body: Json): Promise<Json> => {
  const ws = new WebSocket(sim.wsEndpoint, { headers } as never)
  try {
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve())
      ws.addEventListener("error", () => reject(new Error("ws error")))
    })
    return await new Promise<Json>((resolve) => {
      ws.addEventListener("message", (e) => {
        const frame = JSON.parse(String(e.data)) as Json
        if (frame.type === "error" || frame.type === "response.completed") resolve(frame)
      })
      ws.send(JSON.stringify({ type: "response.create", ...body }))
    })
  } finally {
    ws.close()
  }
}

describe("over the WebSocket", () => {
  for (const c of CASES) {
    test(`${c.name}: ${c.status === 200 ? "completed" : `error frame ${c.status}`}`, async () => {
      const lite = c.lite === true
      const body = lite
        ? {
            ...c.body,
            client_metadata: { ws_request_header_x_openai_internal_codex_responses_lite: "true" },
          }
        : c.body
      const frame = await wsTurn(headersFor(c, true), body)
      if (c.refusal === undefined) {
        expect(frame.type).toBe("response.completed")
        return
      }
      expect(frame.type).toBe("error")
      // the live frame's shape (docs/protocol.md §6; earendil-works/pi#4172): `status_code`, the error as sent
      expect(frame.status_code).toBe(c.status)
      const expected = (c.refusal as { error?: Json }).error ?? {
        type: "invalid_request_error",
        message: (c.refusal as { detail: string }).detail,
      }
      expect(frame.error).toMatchObject(expected)
    })
  }

  test("a chained request whose new output has no call in the remembered conversation is refused", async () => {
    const headers = codexHeaders(acct)
    const ws = new WebSocket(sim.wsEndpoint, { headers } as never)
    await new Promise<void>((resolve) => ws.addEventListener("open", () => resolve()))
    const frames: Array<Json> = []
    const next = () =>
      new Promise<Json>((resolve) => {
        const listener = (e: MessageEvent) => {
          const frame = JSON.parse(String(e.data)) as Json
          frames.push(frame)
          if (frame.type === "error" || frame.type === "response.completed") {
            ws.removeEventListener("message", listener)
            resolve(frame)
          }
        }
        ws.addEventListener("message", listener)
      })
    sim.script("acct_strict", { reply: { toolCalls: [{ name: "read", arguments: {}, callId: "call_a" }] } })
    let done = next()
    ws.send(JSON.stringify({ type: "response.create", ...codexBody() }))
    const first = await done
    const id = (first.response as Json).id as string
    // answering the call the response made is fine; answering another is an orphan
    done = next()
    ws.send(
      JSON.stringify({
        type: "response.create",
        ...codexBody({ previous_response_id: id, input: [output("call_b")] }),
      }),
    )
    const refused = await done
    expect(refused).toMatchObject({
      type: "error",
      status_code: 400,
      error: { message: "No tool call found for function call output with call_id call_b." },
    })
    ws.close()
  })
})
