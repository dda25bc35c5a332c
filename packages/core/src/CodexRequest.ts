/**
 * The Codex request rewrite: turns what OpenCode (through the AI SDK) sends to
 * `https://api.openai.com/v1/responses` into a request the ChatGPT Codex backend accepts, with bytes that
 * stay stable from turn to turn so the backend's prompt cache keeps hitting.
 *
 * Hot path: one pass over the freshly parsed body, mutated in place (no deep clone), then a serialisation
 * of a shallow, key-ordered copy that reuses the text of untouched and already seen `input` items
 * (`internal/item-text.ts`, fed by `HostBodyMemo`). Rewriting an already rewritten body yields the same
 * bytes, so the routed client may prepare the same host request once per candidate account, and items a
 * later turn shares with an earlier one come out of the rewrite unchanged.
 */
import { createHash } from "node:crypto"
import { Context, Effect, Layer, Redacted } from "effect"
import type { HostIdentity } from "./HostIdentity.ts"
import type { HostRequest } from "./HostRequest.ts"
import { forgetItemText } from "./internal/item-text.ts"
import { catalogModel, clampEffort } from "./Models.ts"
import { stabilizeTools } from "./Stabilizer.ts"
import { orderTopLevel, serializeRequestBody } from "./StableJson.ts"

/** The two settings the rewrite reads; `Settings`' resolved value satisfies it. */
export interface RewriteSettings {
  readonly codexApiEndpoint: string
  readonly webSearch: boolean
}

export interface CodexRequestContext {
  readonly accessToken: Redacted.Redacted<string>
  readonly accountId: string
  readonly settings: RewriteSettings
  /** the host's `originator`, and the `User-Agent` used when the host's request carries none */
  readonly identity: HostIdentity
  /** used as the session key only when the host sent none (no prompt_cache_key, no session headers) */
  readonly sessionId?: string | undefined
  /** epoch ms; reserved for turn metadata, the rewrite itself is time-independent */
  readonly now?: number | undefined
}

export interface PreparedRequest {
  readonly url: string
  /** lower-cased names */
  readonly headers: Record<string, string>
  /** the rewritten body as it goes on the wire: `JSON.stringify(json)` */
  readonly body: string
  /** the rewritten body, keys in wire order (shares nested values with the host's parsed body) */
  readonly json: Record<string, unknown>
  /** `prompt_cache_key` = `session-id` header */
  readonly sessionKey: string
  /**
   * Which pooled connection may carry this request: the session key, except for requests the host sent
   * without a `prompt_cache_key` of their own (OpenCode's title turn), which would otherwise queue behind,
   * or break the response chain of, the conversation's socket
   */
  readonly poolKey: string
  readonly model: string
}

/** Remembers, on the host's body itself (a symbol is never serialised), that it came without a cache key. */
const WITHOUT_HOST_KEY = Symbol("codex-request/without-host-key")

/** Host headers that must not reach the backend: credentials for the wrong API, legacy or internal ones. */
const DROPPED_HEADERS = new Set([
  "authorization",
  "x-api-key",
  "openai-beta",
  "openai-organization",
  "openai-project",
  "conversation_id",
  "session_id",
  "x-opencode-title",
  "content-length",
  "host",
  "connection",
  "transfer-encoding",
  "x-openai-internal-codex-responses-lite",
])

/** Body fields the backend rejects (400 "Unsupported parameter") or that make no sense without storage. */
const DROPPED_FIELDS = [
  "max_output_tokens",
  "max_completion_tokens",
  "max_tokens",
  "temperature",
  "top_p",
  "presence_penalty",
  "frequency_penalty",
  "seed",
  "metadata",
  "top_logprobs",
  "truncation",
  "user",
  "previous_response_id",
] as const

const VALID_SERVICE_TIERS = new Set(["priority"])
const ENCRYPTED_REASONING = "reasoning.encrypted_content"

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === "string" && value.length > 0 ? value : undefined

/** The text of a system/developer message: a string, or the `text` of its content parts. */
const messageText = (content: unknown): string => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return ""
  const parts: Array<string> = []
  for (const part of content) if (isObject(part) && typeof part.text === "string") parts.push(part.text)
  return parts.join("\n")
}

const isInstructionMessage = (item: unknown): item is Json =>
  isObject(item) &&
  (item.role === "system" || item.role === "developer") &&
  (item.type === undefined || item.type === "message")

/**
 * A stable key when the host sent no session identity at all: derived from what never changes within a
 * conversation (model, instructions, first input item), so it is the same on every turn.
 */
const derivedSessionKey = (model: string, instructions: string, input: ReadonlyArray<unknown>): string => {
  const hash = createHash("sha256").update(model).update("\0").update(instructions).update("\0")
  if (input.length > 0) hash.update(JSON.stringify(input[0]))
  return `ses_derived_${hash.digest("hex").slice(0, 32)}`
}

/** Normalises `input` in place (drops ids and item references, replays reasoning without raw text). */
const rewriteInput = (input: Array<unknown>): Array<unknown> => {
  let out: Array<unknown> | undefined
  for (let i = 0; i < input.length; i++) {
    const item = input[i]
    if (isObject(item)) {
      if (item.type === "item_reference") {
        out ??= input.slice(0, i)
        continue
      }
      let changed = false
      if ("id" in item) {
        delete item.id
        changed = true
      }
      if (item.role === "system") {
        item.role = "developer"
        changed = true
      }
      if (item.type === "reasoning" && Array.isArray(item.content)) {
        if (item.content.some((c) => isObject(c) && c.type === "reasoning_text")) {
          delete item.content
          changed = true
        }
      }
      // the host's own text of this item no longer describes it
      if (changed) forgetItemText(item)
    }
    out?.push(item)
  }
  return out ?? input
}

const rewriteTools = (tools: Array<unknown>): void => {
  for (const tool of tools) {
    if (!isObject(tool) || tool.type !== "function") continue
    tool.strict = false
    if (isObject(tool.parameters) && "$schema" in tool.parameters) delete tool.parameters.$schema
  }
}

const rewriteBody = (body: Json, model: string, webSearch: boolean, lite: boolean): void => {
  let input: Array<unknown> =
    typeof body.input === "string"
      ? [{ role: "user", content: [{ type: "input_text", text: body.input }] }]
      : Array.isArray(body.input)
        ? body.input
        : []

  let instructions = typeof body.instructions === "string" ? body.instructions : ""
  if (instructions.length === 0) {
    // The host put its system prompt into `input` (no OAuth-aware core): move the leading run up.
    // Item references are dropped below anyway; skipping them here keeps the rewrite idempotent.
    const lifted: Array<string> = []
    let lead = 0
    for (; lead < input.length; lead++) {
      const item = input[lead]
      if (isInstructionMessage(item)) lifted.push(messageText(item.content))
      else if (!isObject(item) || item.type !== "item_reference") break
    }
    if (lifted.length > 0) {
      instructions = lifted.join("\n")
      input = input.slice(lead)
    }
  }
  body.instructions = instructions
  body.input = rewriteInput(input)

  if (Array.isArray(body.tools)) {
    rewriteTools(body.tools)
    stabilizeTools(body, webSearch && !lite)
  }
  if (lite) body.parallel_tool_calls = false

  const reasoning = body.reasoning
  if (isObject(reasoning)) {
    if (typeof reasoning.effort === "string") reasoning.effort = clampEffort(model, reasoning.effort)
    if (lite) reasoning.context = "all_turns"
  }

  body.store = false
  body.stream = true
  const include = body.include
  if (!Array.isArray(include)) body.include = [ENCRYPTED_REASONING]
  else if (!include.includes(ENCRYPTED_REASONING)) include.push(ENCRYPTED_REASONING)

  for (const field of DROPPED_FIELDS) if (field in body) delete body[field]
  if ("service_tier" in body && !VALID_SERVICE_TIERS.has(body.service_tier as string)) delete body.service_tier
}

/**
 * Rewrites a decoded host request into the Codex request. Mutates `host.body` (the decoder's fresh copy);
 * calling it again on the same host request gives the same bytes.
 */
export const prepareCodexRequest = (host: HostRequest, ctx: CodexRequestContext): PreparedRequest => {
  const body = host.body as Json
  const model = host.body.model
  const lite = catalogModel(model)?.responsesLite === true
  rewriteBody(body, model, ctx.settings.webSearch, lite)

  const h = host.headers
  const record = body as Record<PropertyKey, unknown>
  if (nonEmpty(body.prompt_cache_key) === undefined) record[WITHOUT_HOST_KEY] = true
  const sessionKey =
    nonEmpty(body.prompt_cache_key) ??
    nonEmpty(h["session-id"]) ??
    nonEmpty(h["x-session-affinity"]) ??
    nonEmpty(h["x-session-id"]) ??
    nonEmpty(h.session_id) ??
    nonEmpty(ctx.sessionId) ??
    derivedSessionKey(model, body.instructions as string, body.input as Array<unknown>)
  body.prompt_cache_key = sessionKey

  const headers: Record<string, string> = {}
  for (const key in h) {
    if (!DROPPED_HEADERS.has(key)) headers[key] = h[key] as string
  }
  headers.authorization = `Bearer ${Redacted.value(ctx.accessToken)}`
  headers["chatgpt-account-id"] = ctx.accountId
  headers.originator = ctx.identity.originator
  headers["user-agent"] = nonEmpty(h["user-agent"]) ?? ctx.identity.userAgent
  headers["session-id"] = sessionKey
  headers["x-client-request-id"] = sessionKey
  headers.accept = "text/event-stream"
  headers["content-type"] = "application/json"
  if (lite) headers["x-openai-internal-codex-responses-lite"] = "true"

  const json = orderTopLevel(body)
  return {
    url: ctx.settings.codexApiEndpoint,
    headers,
    body: serializeRequestBody(json),
    json,
    sessionKey,
    poolKey: record[WITHOUT_HOST_KEY] === true ? `${sessionKey}#untitled` : sessionKey,
    model,
  }
}

/** The rewrite as a dependency, for code that wires services rather than calling functions. */
export class CodexRequest extends Context.Service<
  CodexRequest,
  { readonly from: (host: HostRequest, ctx: CodexRequestContext) => Effect.Effect<PreparedRequest> }
>()("@cortexkit/openai-auth-core/CodexRequest") {
  static readonly layer: Layer.Layer<CodexRequest> = Layer.succeed(CodexRequest)(
    CodexRequest.of({ from: (host, ctx) => Effect.sync(() => prepareCodexRequest(host, ctx)) }),
  )
}
