/**
 * The Codex request rewrite: turns what OpenCode (through the AI SDK) sends to
 * `https://api.openai.com/v1/responses` into a request the ChatGPT Codex backend accepts, with bytes that
 * stay stable from turn to turn so the backend's prompt cache keeps hitting. Every rule is in
 * docs/protocol.md with its source and its test.
 *
 * The host's body is read, never changed: the wire body is built beside it (copy on write) and comes back as
 * one value with its text (`WireBody`), so the same host request prepares to the same bytes once per
 * candidate account. For a body the memo parsed, items the rules leave alone go out as the host's own text,
 * items that only lose their `id` as that text without the member, and items a previous turn sent as that
 * turn's text: those items are frozen, so the text is theirs.
 */
import { Redacted } from "effect"
import { sha256Hex } from "./Digest.ts"
import type { HostIdentity } from "./HostIdentity.ts"
import type { HostRequest } from "./HostRequest.ts"
import {
  liteHead,
  UNSUPPORTED_FIELDS,
  wireInclude,
  wireReasoning,
  wireServiceTier,
  wireText,
  wireTools,
} from "./internal/body-rules.ts"
import { rewriteInput } from "./internal/input-rules.ts"
import { clientMetadata, sessionMetadata } from "./internal/session-metadata.ts"
import { catalogModel, clientVersionFor } from "./Models.ts"
import { TOP_LEVEL_KEY_ORDER, type WireBody, wireBody } from "./StableJson.ts"

export { UNSUPPORTED_FIELDS } from "./internal/body-rules.ts"
export { responseCreateFrame } from "./internal/ws-frame.ts"

/** The settings the rewrite reads; `Settings`' resolved value satisfies it. */
export interface RewriteSettings {
  readonly codexApiEndpoint: string
  readonly webSearch: boolean
  /** the `version` header; unset: the catalog's (see `clientVersionFor`) */
  readonly codexVersion?: string | undefined
}

export interface CodexRequestContext {
  readonly accessToken: Redacted.Redacted<string>
  readonly accountId: string
  readonly settings: RewriteSettings
  /** the host's `originator`, and the `User-Agent` used when the host's request carries none */
  readonly identity: HostIdentity
  /** used as the session key only when the host sent none (no prompt_cache_key, no session headers) */
  readonly sessionId?: string | undefined
}

/**
 * A rule over the wire `input` after the built-in ones: returns the items to send (a new array; items it
 * changes must be new objects, the ones it was given may be frozen).
 */
export type InputRule = (items: ReadonlyArray<unknown>) => ReadonlyArray<unknown>

export interface PreparedRequest {
  readonly url: string
  /** lower-cased names */
  readonly headers: Record<string, string>
  /** the rewritten body as it goes on the wire: exactly `JSON.stringify(json)` */
  readonly body: string
  /** the rewritten body, keys in wire order (frozen; shares nested values with the host's parsed body) */
  readonly json: Readonly<Record<string, unknown>>
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

const LITE_HEADER = "x-openai-internal-codex-responses-lite"

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
  // OpenCode's own session headers: the Codex identity is session-id / thread-id (cortexkit drops them too)
  "x-session-id",
  "x-session-affinity",
  "content-length",
  "host",
  "connection",
  "transfer-encoding",
  "version",
  "thread-id",
  "x-codex-window-id",
  "x-codex-turn-metadata",
  LITE_HEADER,
])

/** Fields this module writes itself; every other host field passes through unless it is unsupported. */
const OWN_FIELDS = new Set([...TOP_LEVEL_KEY_ORDER, "service_tier", ...UNSUPPORTED_FIELDS])

type Json = Record<string, unknown>

const nonEmpty = (value: unknown): string | undefined =>
  typeof value === "string" && value.length > 0 ? value : undefined

/**
 * A stable key when the host sent no session identity at all: derived from what never changes within a
 * conversation (model, instructions, first input item), so it is the same on every turn.
 */
const derivedSessionKey = (model: string, instructions: string, input: ReadonlyArray<unknown>): string => {
  const first = input.length > 0 ? [JSON.stringify(input[0])] : []
  return `ses_derived_${sha256Hex(model, "\0", instructions, "\0", ...first).slice(0, 32)}`
}

const isLiteHead = (item: unknown): boolean =>
  typeof item === "object" && item !== null && (item as Json).type === "additional_tools"

const hostInputItems = (input: unknown): ReadonlyArray<unknown> =>
  typeof input === "string"
    ? [{ role: "user", content: [{ type: "input_text", text: input }] }]
    : Array.isArray(input)
      ? input
      : []

/** The previous turn's Lite head items when they are the same as `fresh` (so the prefix text stays reusable). */
const sameAsEarlier = (fresh: ReadonlyArray<Json>, host: HostRequest["input"]): ReadonlyArray<unknown> => {
  const earlier = host?.latest ?? host?.previous
  if (earlier === undefined) return fresh
  const out: Array<unknown> = []
  for (let i = 0; i < fresh.length; i++) {
    const text = earlier.source.slice(
      earlier.start + (i === 0 ? 1 : (earlier.ends[i - 1] as number) + 1),
      earlier.start + (earlier.ends[i] ?? 0),
    )
    out.push(earlier.items[i] !== undefined && text === JSON.stringify(fresh[i]) ? earlier.items[i] : fresh[i])
  }
  return out
}

/**
 * Rewrites a decoded host request into the Codex request. Never changes `host`; preparing the same host
 * request again (another account) gives the same bytes. `rules` run over the wire input after the built-in
 * rules (the tests use them to show that any rule keeps the wire text true to the body).
 */
export const prepareCodexRequest = (
  host: HostRequest,
  ctx: CodexRequestContext,
  rules: ReadonlyArray<InputRule> = [],
): PreparedRequest => {
  const source = host.body as Json
  const model = host.body.model
  const entry = catalogModel(model)
  const lite = entry?.responsesLite === true
  const { settings } = ctx

  const rewritten = rewriteInput(
    hostInputItems(source.input),
    host.input,
    typeof source.instructions === "string" ? source.instructions : "",
    lite,
  )
  let input: ReadonlyArray<unknown> = rewritten.items
  for (const rule of rules) input = rule(input)

  const h = host.headers
  const hostKey = nonEmpty(source.prompt_cache_key)
  const sessionKey =
    hostKey ??
    nonEmpty(h["session-id"]) ??
    nonEmpty(h["x-session-affinity"]) ??
    nonEmpty(h["x-session-id"]) ??
    nonEmpty(h.session_id) ??
    nonEmpty(ctx.sessionId) ??
    derivedSessionKey(model, rewritten.instructions, input)
  const meta = sessionMetadata(sessionKey, input, host.turns)

  const tools = Array.isArray(source.tools) ? wireTools(source.tools, settings.webSearch, lite) : undefined
  // a body already in the Lite shape (a keep-warm replay of a wire body) keeps its head
  const shaped = tools === undefined && rewritten.instructions === "" && isLiteHead(input[0])
  if (lite && !shaped) input = [...sameAsEarlier(liteHead(tools ?? [], rewritten.instructions), host.input), ...input]
  const parallel = source.parallel_tool_calls

  // keys in TOP_LEVEL_KEY_ORDER, then the host's other fields sorted: built in that order, not reordered
  const body: Json = { model }
  if (!lite) body.instructions = rewritten.instructions
  body.input = input
  if (!lite && tools !== undefined) body.tools = tools
  if (source.tool_choice !== undefined) body.tool_choice = source.tool_choice
  if (lite) body.parallel_tool_calls = false
  else if (typeof parallel === "boolean") body.parallel_tool_calls = parallel
  else if (entry !== undefined) body.parallel_tool_calls = entry.parallelToolCalls
  const reasoning = wireReasoning(source.reasoning, model, lite)
  if (reasoning !== undefined) body.reasoning = reasoning
  body.store = false
  body.stream = true
  body.include = wireInclude(source.include)
  body.prompt_cache_key = sessionKey
  const text = wireText(source.text, entry)
  if (text !== undefined) body.text = text
  if (source.generate !== undefined) body.generate = source.generate
  body.client_metadata = clientMetadata(source.client_metadata, sessionKey, meta)
  const extra: Array<string> = []
  for (const key in source) if (!OWN_FIELDS.has(key) && Object.hasOwn(source, key)) extra.push(key)
  const tier = wireServiceTier(source.service_tier)
  if (tier !== undefined) extra.push("service_tier")
  if (extra.length > 0) {
    extra.sort()
    for (const key of extra) {
      const value = key === "service_tier" ? tier : source[key]
      if (value === undefined) continue
      // JSON.parse makes `__proto__` an own key; an assignment would set the body's prototype instead
      if (key === "__proto__") Object.defineProperty(body, key, { value, enumerable: true, writable: true })
      else body[key] = value
    }
  }

  const headers: Record<string, string> = {}
  for (const key in h) {
    if (!DROPPED_HEADERS.has(key)) headers[key] = h[key] as string
  }
  headers.authorization = `Bearer ${Redacted.value(ctx.accessToken)}`
  headers["chatgpt-account-id"] = ctx.accountId
  headers.originator = ctx.identity.originator
  headers["user-agent"] = nonEmpty(h["user-agent"]) ?? ctx.identity.userAgent
  headers.version = nonEmpty(settings.codexVersion) ?? clientVersionFor(model)
  headers["session-id"] = sessionKey
  headers["thread-id"] = meta.threadId
  headers["x-client-request-id"] = sessionKey
  headers["x-codex-window-id"] = meta.windowId
  headers["x-codex-turn-metadata"] = meta.turnMetadata
  headers.accept = "text/event-stream"
  headers["content-type"] = "application/json"
  if (lite) headers[LITE_HEADER] = "true"

  const wire: WireBody = wireBody(body, host.input)
  return {
    url: settings.codexApiEndpoint,
    headers,
    body: wire.text,
    json: wire.json,
    sessionKey,
    poolKey: hostKey === undefined ? `${sessionKey}#untitled` : sessionKey,
    model,
  }
}
