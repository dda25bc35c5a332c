/**
 * What the real Codex backend refuses, with its status and error text, as the simulator's judge. Every rule
 * names its source (docs/protocol.md section and the public report or code it cites); the simulator knows
 * nothing of the plugin's own rewrite, so a test that passes here passes the backend's documented rules, not
 * our reading of them. Used over HTTP and over the WebSocket (where the same refusal is an `error` frame).
 */
import { isRecord, str } from "./SimHttp.ts"

export interface Refusal {
  readonly status: number
  /** the HTTP body; the WebSocket error frame carries `error` (or `{message: detail}`) */
  readonly body: Record<string, unknown>
}

/** The FastAPI-style refusals of the Codex gateway: `{"detail": "..."}`. */
const detail = (text: string, status = 400): Refusal => ({ status, body: { detail: text } })

/** The Responses API's own refusals: `{"error": {message, type, param, code}}`. */
const apiError = (status: number, message: string, param: string | null, code: string | null): Refusal => ({
  status,
  body: { error: { message, type: "invalid_request_error", param, code } },
})

interface SimModel {
  readonly slug: string
  /** the lowest `version` header the backend serves the model to */
  readonly minimalClientVersion: string
  readonly responsesLite: boolean
}

/**
 * The models a ChatGPT account is served, from codex-rs/models-manager/models.json @069e6b19 (docs/protocol.md
 * §7), plus `gpt-5.3-codex-spark` (live catalog of Codex 0.144, lionagi#2076) and the GPT-6 family (min
 * client 0.153.0: pleaseai/shunt#458, openai/codex-plugin-cc#309).
 */
const SIM_MODELS: ReadonlyArray<SimModel> = [
  { slug: "gpt-5.6-sol", minimalClientVersion: "0.142.2", responsesLite: true },
  { slug: "gpt-5.6-terra", minimalClientVersion: "0.142.2", responsesLite: true },
  { slug: "gpt-5.6-luna", minimalClientVersion: "0.142.2", responsesLite: true },
  { slug: "gpt-5.5", minimalClientVersion: "0.124.0", responsesLite: false },
  { slug: "gpt-5.4", minimalClientVersion: "0.98.0", responsesLite: false },
  { slug: "gpt-5.4-mini", minimalClientVersion: "0.98.0", responsesLite: false },
  { slug: "gpt-5.2", minimalClientVersion: "0.0.1", responsesLite: false },
  { slug: "codex-auto-review", minimalClientVersion: "0.98.0", responsesLite: false },
  { slug: "gpt-5.3-codex-spark", minimalClientVersion: "0.98.0", responsesLite: false },
  { slug: "gpt-6-sol", minimalClientVersion: "0.153.0", responsesLite: false },
  { slug: "gpt-6-luna", minimalClientVersion: "0.153.0", responsesLite: false },
  { slug: "gpt-6-astra", minimalClientVersion: "0.153.0", responsesLite: false },
]

const MODELS = new Map(SIM_MODELS.map((m) => [m.slug, m]))

/** Refused with "Unsupported parameter: <name>", with the public report of each (docs/protocol.md §3.3). */
export const UNSUPPORTED_PARAMETERS: Readonly<Record<string, string>> = {
  max_output_tokens: "RayBytes/ChatMock#103, emilsvennesson/opencode-websearch#22, Wei-Shaw/sub2api#3954",
  max_tokens: "docs/protocol.md §3.3 (strip; not a Responses field)",
  max_completion_tokens: "docs/protocol.md §3.3 (strip; not a Responses field)",
  temperature: "AprilNEA/BYOKEY#69, EasyMetaAu/helm-api#351",
  top_p: "askalf/dario#1009",
  presence_penalty: "askalf/dario#1009",
  frequency_penalty: "askalf/dario#1009",
  seed: "askalf/dario#1009",
  metadata: "askalf/dario#1009",
  top_logprobs: "askalf/dario#1009",
  truncation: "askalf/dario#1009",
}

const compareVersions = (a: string, b: string): number => {
  const x = a.split(/[.-]/).map((part) => Number.parseInt(part, 10) || 0)
  const y = b.split(/[.-]/).map((part) => Number.parseInt(part, 10) || 0)
  for (let i = 0; i < 3; i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0) return Math.sign(d)
  }
  return 0
}

/** Lite takes function tools, custom tools and client-executed tool search (openai/codex#31870). */
const LITE_TOOL_TYPES = new Set(["function", "custom", "tool_search", "namespace"])

export interface RequestView {
  readonly body: unknown
  /** lower-case names: the request's headers over HTTP, the handshake's over the WebSocket */
  readonly headers: Readonly<Record<string, string>>
  readonly transport: "http" | "ws"
}

/** The fields of a request, before its input is checked (a chained WebSocket request's input is partial). */
export const refuseRequest = (request: RequestView): Refusal | undefined => {
  const body = request.body
  if (!isRecord(body)) return detail("Request body must be a JSON object")
  // §3.2: sudocode#15, ai-tools-mng#79 / stakpak#739, cleo#1079 / NA, ND ARCHITECTURE.md
  if (typeof body.input === "string") return detail("Input must be a list")
  if (body.store === true) return detail("Store must be set to false")
  if (body.stream !== true) return detail("Stream must be set to true")
  for (const name in UNSUPPORTED_PARAMETERS) if (name in body) return detail(`Unsupported parameter: ${name}`)
  if (!Array.isArray(body.input)) return detail("Input must be a list")
  const slug = str(body.model) ?? ""
  const model = MODELS.get(slug)
  // §3.3: the model a ChatGPT account is not served (openai/codex#25838, #25794)
  if (model === undefined)
    return detail(`The '${slug}' model is not supported when using Codex with a ChatGPT account.`)
  // §3.1 `version`: OmniRoute#1575, #1608, openai/codex#31826; a missing header is the oldest client
  const version = request.headers.version ?? "0.0.0"
  if (compareVersions(version, model.minimalClientVersion) < 0) {
    return detail(
      `The '${slug}' model requires a newer version of Codex. Please upgrade to the latest app or CLI and try again.`,
    )
  }
  const lite =
    request.transport === "http"
      ? request.headers["x-openai-internal-codex-responses-lite"] === "true"
      : isRecord(body.client_metadata) &&
        body.client_metadata.ws_request_header_x_openai_internal_codex_responses_lite === "true"
  // openai/codex#30403, #31150: the Lite route refuses the models that are not Lite
  if (lite && !model.responsesLite) {
    return apiError(
      400,
      "This model is not supported when using X-OpenAI-Internal-Codex-Responses-Lite.",
      "model",
      "unsupported_value",
    )
  }
  if (model.responsesLite) {
    const reasoning = isRecord(body.reasoning) ? body.reasoning : undefined
    // ndycode/oc-codex-multi-auth#191, earendil-works/pi#6516: Lite models need the Lite request, whose
    // reasoning replays all turns (the message text is not in the reports; code and param are)
    if (!lite || reasoning?.context !== "all_turns") {
      return apiError(
        400,
        "Invalid value for 'reasoning.context': this model requires 'all_turns' over X-OpenAI-Internal-Codex-Responses-Lite.",
        "reasoning.context",
        "unsupported_value",
      )
    }
    const tools = [
      ...(Array.isArray(body.tools) ? body.tools : []),
      ...body.input.flatMap((item) =>
        isRecord(item) && item.type === "additional_tools" && Array.isArray(item.tools) ? item.tools : [],
      ),
    ]
    const hosted = tools.some(
      (tool) =>
        !isRecord(tool) ||
        !LITE_TOOL_TYPES.has(str(tool.type) ?? "") ||
        (tool.type === "tool_search" && tool.execution === "server"),
    )
    if (hosted) {
      return apiError(
        400,
        "X-OpenAI-Internal-Codex-Responses-Lite only supports function tools, custom tools, and client-executed tool search.",
        "tools",
        "unsupported_value",
      )
    }
  } else if (typeof body.instructions !== "string") {
    // §3.2: sub2api#2257, llxprt-code#1197, helm-api#310
    return detail("Instructions are required")
  }
  return undefined
}

const OUTPUT_ANSWERS: Readonly<Record<string, ReadonlyArray<string>>> = {
  function_call_output: ["function_call", "local_shell_call"],
  custom_tool_call_output: ["custom_tool_call"],
}
const CALL_NAMES: Readonly<Record<string, string>> = {
  function_call: "function call",
  custom_tool_call: "custom tool call",
}

/**
 * The full conversation (a chained WebSocket request: the remembered input and output, then the new items):
 * §3.4 item ids with `store: false` are a 404 (vercel/ai#7543, oh-my-pi#41); a tool output without its call
 * earlier, or a call without its output, is a 400 (microsoft/vscode#320060, cline#9288; smallmain#40,
 * OmniRoute#8946).
 */
export const refuseInput = (
  input: ReadonlyArray<unknown>,
  fresh: ReadonlyArray<unknown> = input,
): Refusal | undefined => {
  for (const item of fresh) {
    if (isRecord(item) && typeof item.id === "string") {
      return apiError(
        404,
        `Item with id '${item.id}' not found. Items are not persisted when \`store\` is set to false. Try again with \`store\` set to true, or remove this item from your input.`,
        "input",
        null,
      )
    }
  }
  // call id -> the types of the calls that carry it, and the ones an output answered
  const calls = new Map<string, Set<string>>()
  const answered = new Map<string, Set<string>>()
  for (const item of input) {
    if (!isRecord(item) || typeof item.type !== "string") continue
    const callId = str(item.call_id) ?? ""
    if (item.type in CALL_NAMES || item.type === "local_shell_call") {
      calls.set(callId, (calls.get(callId) ?? new Set()).add(item.type))
    }
    const answers = OUTPUT_ANSWERS[item.type]
    if (answers === undefined) continue
    // an output answers a call of its kind with this id, one not answered yet when there is one
    const open = answers.find((type) => calls.get(callId)?.has(type) && !answered.get(callId)?.has(type))
    const call = open ?? answers.find((type) => calls.get(callId)?.has(type))
    if (call === undefined) {
      return apiError(400, `No tool call found for function call output with call_id ${callId}.`, "input", null)
    }
    answered.set(callId, (answered.get(callId) ?? new Set()).add(call))
  }
  for (const [callId, types] of calls) {
    for (const type of types) {
      if (!answered.get(callId)?.has(type)) {
        return apiError(
          400,
          `No tool output found for ${CALL_NAMES[type] ?? "function call"} ${callId}.`,
          "input",
          null,
        )
      }
    }
  }
  return undefined
}
