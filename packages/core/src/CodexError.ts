/**
 * What a Codex refusal means for the caller. Every failure the backend can answer with (HTTP status + JSON
 * body, a WebSocket `error` frame, an SSE `response.failed` / `error` event) is classified into one of these,
 * and only the accounts layer decides what to do with it (fall back, back off, stop).
 *
 * CONTRACT (owned by the error-classification helper): the classes and their fields are shared. Add only.
 */
import { Option, Schema } from "effect"
import {
  earliestReset,
  epochMs,
  exhaustedUntil,
  type HeaderValues,
  headerRecord,
  LooseNumber,
  lenient,
  quotaFromHeaders,
} from "./Quota.ts"

/** `usage_limit_reached` (429) or a mid-stream quota exhaustion: the account is spent until `resetsAt`. */
export class UsageLimit extends Schema.TaggedError<UsageLimit>()("UsageLimit", {
  message: Schema.String,
  /** epoch milliseconds */
  resetsAt: Schema.optional(Schema.Number),
  planType: Schema.optional(Schema.String),
}) {}

/** A 429 that is not the usage limit: an account-wide burst/concurrency limit. Retry the same account soon. */
export class BurstRateLimit extends Schema.TaggedError<BurstRateLimit>()("BurstRateLimit", {
  message: Schema.String,
  retryAfterMs: Schema.optional(Schema.Number),
}) {}

/** 401: the access token is not (or no longer) valid. */
export class AuthFailure extends Schema.TaggedError<AuthFailure>()("AuthFailure", {
  message: Schema.String,
  status: Schema.Number,
}) {}

/** 403: the account may not use this endpoint/workspace right now. */
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  message: Schema.String,
}) {}

/** `usage_not_included`: the plan has no Codex. */
export class PlanWithoutCodex extends Schema.TaggedError<PlanWithoutCodex>()("PlanWithoutCodex", {
  message: Schema.String,
  planType: Schema.optional(Schema.String),
}) {}

/** `context_length_exceeded`: another account will not help. */
export class ContextTooLong extends Schema.TaggedError<ContextTooLong>()("ContextTooLong", {
  message: Schema.String,
}) {}

/** 5xx, overloaded, `slow_down`, a dropped connection: worth another try. */
export class Transient extends Schema.TaggedError<Transient>()("Transient", {
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  retryAfterMs: Schema.optional(Schema.Number),
}) {}

/** Any other 4xx (bad request, unsupported parameter, unknown model): the request itself is wrong. */
export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", {
  message: Schema.String,
  status: Schema.Number,
  code: Schema.optional(Schema.String),
}) {}

export type CodexFailure =
  | UsageLimit
  | BurstRateLimit
  | AuthFailure
  | Forbidden
  | PlanWithoutCodex
  | ContextTooLong
  | Transient
  | BadRequest

// ---------------------------------------------------------------------------------------------------------
// Classification (docs/protocol.md §4, §5.2, §6; the rules and their sources are in docs/protocol.md)
// ---------------------------------------------------------------------------------------------------------

const errorDetailSchema = () =>
  Schema.Struct({
    type: lenient(Schema.String),
    code: lenient(Schema.String),
    message: lenient(Schema.String),
    plan_type: lenient(Schema.String),
    resets_at: lenient(LooseNumber),
    resets_in_seconds: lenient(LooseNumber),
    retry_after_ms: lenient(LooseNumber),
    rate_limit_reached_type: lenient(Schema.Unknown),
    context: lenient(Schema.Struct({ type: lenient(Schema.String) })),
  })
type ErrorDetail = ReturnType<typeof errorDetailSchema>["Type"]

const errorBodySchema = () => {
  const ErrorDetail = errorDetailSchema()
  return Schema.Struct({
    ...ErrorDetail.fields,
    error: lenient(Schema.Union([ErrorDetail, Schema.String])),
    detail: lenient(Schema.Union([Schema.String, ErrorDetail])),
    status: lenient(LooseNumber),
    status_code: lenient(LooseNumber),
    headers: lenient(Schema.Record(Schema.String, Schema.Unknown)),
    response: lenient(
      Schema.Struct({
        error: lenient(ErrorDetail),
        rate_limit_reached_type: lenient(Schema.Unknown),
        failed: lenient(Schema.Unknown),
      }),
    ),
  })
}
type ErrorBody = ReturnType<typeof errorBodySchema>["Type"]

/** suspended: the body schemas are built by the first error classified, not at module load (most processes
 * never see one; docs/performance.md, "Round 3: mem2") */
const decodeBody = Schema.decodeUnknownOption(Schema.suspend(errorBodySchema))

const USAGE_LIMIT = new Set(["usage_limit_reached", "usage_limit_exceeded", "insufficient_quota"])
const OVERLOADED = new Set(["server_is_overloaded", "slow_down", "overloaded", "server_overloaded"])
/** WebSocket refusals codex-rs retries on a new connection with the full input (`responses_websocket.rs`, §6) */
const RECONNECT = new Set(["websocket_connection_limit_reached", "previous_response_not_found"])
const MAX_MESSAGE = 500
/** a usage limit told in words (a plain-text body, or JSON without a type): NA and ND map these to 429 */
const USAGE_LIMIT_TEXT = /\busage[ _-]?limit\b/i
/** "Usage not included in your plan" (ND `isEntitlementError`) */
const NOT_INCLUDED_TEXT = /not included in your (?:plan|chatgpt subscription)/i
const OVERLOAD_TEXT = /overloaded/i
/** statuses a worded usage limit is believed under: the 429 it is, and the 403/404 it arrives as (NA, ND) */
const WORDED_LIMIT_STATUSES = new Set([403, 404, 429])

export interface ClassifyOptions {
  /** epoch ms, for relative reset/retry hints; default `Date.now()` */
  readonly now?: number
}

const truncate = (text: string) => (text.length > MAX_MESSAGE ? `${text.slice(0, MAX_MESSAGE)}…` : text)

const RETRY_HINT =
  /(?:try again|retry)\s+in\s*(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?)\b/i

/** "try again in 1.5s" / "in 250ms" / "in 35 seconds" -> milliseconds (codex-rs `try_parse_retry_after`) */
export const retryHintMs = (message: string): number | undefined => {
  const m = RETRY_HINT.exec(message)
  if (m === null) return undefined
  const value = Number(m[1])
  const unit = (m[2] ?? "s").toLowerCase()
  const ms =
    unit.startsWith("ms") || unit.startsWith("milli") ? value : unit.startsWith("m") ? value * 60_000 : value * 1000
  return Number.isFinite(ms) ? Math.ceil(ms) : undefined
}

const DELAY_SECONDS = /^\d+$/

/**
 * `retry-after-ms`, else `retry-after` as RFC 9110 has it: whole seconds or an HTTP date (a date already past
 * is 0). Fractions and negatives are not delay-seconds and are ignored (IB `parseRetryAfterMs`).
 */
export const retryAfterMs = (headers: Record<string, string>, now: number): number | undefined => {
  const rawMs = headers["retry-after-ms"]?.trim()
  if (rawMs !== undefined && rawMs !== "") {
    const ms = Number(rawMs)
    if (Number.isFinite(ms) && ms >= 0) return Math.ceil(ms)
  }
  const raw = headers["retry-after"]?.trim()
  if (raw === undefined || raw === "") return undefined
  if (DELAY_SECONDS.test(raw)) return Number(raw) * 1000
  if (/^[-+\d.]/.test(raw)) return undefined
  const date = Date.parse(raw)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

interface Facts {
  readonly status: number | undefined
  readonly kinds: ReadonlyArray<string>
  readonly code: string | undefined
  readonly message: string
  readonly detail: ErrorDetail
  readonly headers: Record<string, string>
  readonly rateLimitReached: boolean
  /** the nested error object's `type` and `code` (ND tells a live `server_error` payload by both) */
  readonly nestedType: string | undefined
  readonly nestedCode: string | undefined
}

/** the event's own `type` (`error`, `response.failed`) says nothing about the cause */
const causeType = (type: string | undefined) =>
  type === undefined || type === "error" || type.startsWith("response.") ? undefined : type

const facts = (
  status: number | undefined,
  body: ErrorBody | undefined,
  text: string,
  headers: Record<string, string>,
): Facts => {
  const nested = body?.response?.error ?? (typeof body?.error === "object" ? body.error : undefined)
  const detailObj = typeof body?.detail === "object" ? body.detail : undefined
  const detail: ErrorDetail = { ...body, ...detailObj, ...nested }
  const topType = causeType(body?.type)
  const kinds = [
    nested?.type,
    nested?.code,
    nested?.context?.type,
    detailObj?.type,
    detailObj?.code,
    body?.code,
    topType,
  ].filter((k): k is string => k !== undefined)
  const message =
    nested?.message ??
    (typeof body?.error === "string" ? body.error : undefined) ??
    (typeof body?.detail === "string" ? body.detail : detailObj?.message) ??
    body?.message ??
    (text.trim() === ""
      ? status === undefined
        ? "error event without a message"
        : `HTTP ${status}`
      : truncate(text.trim()))
  const rateLimitReached =
    nested?.rate_limit_reached_type !== undefined ||
    body?.rate_limit_reached_type !== undefined ||
    body?.response?.rate_limit_reached_type !== undefined ||
    (typeof body?.response?.failed === "object" &&
      body.response.failed !== null &&
      "rate_limit_reached_type" in body.response.failed)
  return {
    status,
    kinds,
    code: nested?.code ?? detailObj?.code ?? body?.code ?? nested?.type ?? topType,
    message,
    detail,
    headers,
    rateLimitReached,
    nestedType: nested?.type,
    nestedCode: nested?.code,
  }
}

const optional = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

const usageLimit = (f: Facts, now: number): UsageLimit => {
  const d = f.detail
  const fromHeaders = quotaFromHeaders(f.headers, now)
  const resetsAt =
    (d.resets_at !== undefined && d.resets_at > 0 ? epochMs(d.resets_at) : undefined) ??
    (d.resets_in_seconds !== undefined && d.resets_in_seconds >= 0 ? now + d.resets_in_seconds * 1000 : undefined) ??
    (fromHeaders === undefined ? undefined : (exhaustedUntil(fromHeaders) ?? earliestReset(fromHeaders)))
  return new UsageLimit({
    message: f.message,
    ...optional("resetsAt", resetsAt),
    ...optional("planType", d.plan_type ?? fromHeaders?.planType),
  })
}

/** a server-sent delay: the body's `retry_after_ms` (ND), then the headers, then "try again in N s" in the text */
const retryOf = (f: Facts, now: number): number | undefined => {
  const body = f.detail.retry_after_ms
  if (body !== undefined && body >= 0) return Math.ceil(body)
  return retryAfterMs(f.headers, now) ?? retryHintMs(f.message)
}

const isOverloaded = (f: Facts, has: (k: ReadonlySet<string> | string) => boolean) =>
  has(OVERLOADED) || (has("service_unavailable_error") && OVERLOAD_TEXT.test(f.message))

const classify = (f: Facts, text: string, now: number): CodexFailure => {
  const has = (set: ReadonlySet<string> | string) =>
    f.kinds.some((k) => (typeof set === "string" ? k === set : set.has(k)))
  const status = f.status
  if (has(USAGE_LIMIT) || f.rateLimitReached) return usageLimit(f, now)
  if (has("usage_not_included") || NOT_INCLUDED_TEXT.test(f.message))
    return new PlanWithoutCodex({ message: f.message, ...optional("planType", f.detail.plan_type) })
  if (has("context_length_exceeded")) return new ContextTooLong({ message: f.message })
  if (has(RECONNECT)) return new Transient({ message: f.message, ...optional("status", status) })
  // worded only: no type or code says otherwise
  if (
    f.kinds.length === 0 &&
    (status === undefined || WORDED_LIMIT_STATUSES.has(status)) &&
    (USAGE_LIMIT_TEXT.test(f.message) || USAGE_LIMIT_TEXT.test(text))
  )
    return usageLimit(f, now)
  if (status === 401) return new AuthFailure({ message: f.message, status })
  if (status === 403) return new Forbidden({ message: f.message })
  if (isOverloaded(f, has))
    return new Transient({ message: f.message, status: status ?? 503, ...optional("retryAfterMs", retryOf(f, now)) })
  if (status === 429 || has("rate_limit_exceeded"))
    return new BurstRateLimit({ message: f.message, ...optional("retryAfterMs", retryOf(f, now)) })
  // the live payload ND saw with a 400: a server fault reported as a bad request (both fields, not either)
  if (f.nestedType === "server_error" && f.nestedCode === "server_error")
    return new Transient({
      message: f.message,
      ...optional("status", status),
      ...optional("retryAfterMs", retryOf(f, now)),
    })
  if (status === undefined) {
    // An event without a status: only a request-shaped error is the caller's fault, the rest may pass.
    if (has("invalid_request_error") || has("invalid_prompt"))
      return new BadRequest({ message: f.message, status: 400, ...optional("code", f.code) })
    return new Transient({ message: f.message, ...optional("retryAfterMs", retryOf(f, now)) })
  }
  if (status >= 500 || status === 408 || status < 400)
    return new Transient({ message: f.message, status, ...optional("retryAfterMs", retryOf(f, now)) })
  return new BadRequest({ message: f.message, status, ...optional("code", f.code) })
}

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** An HTTP refusal (status + body text + response headers). Non-JSON bodies are classified by status and words. */
export const classifyHttp = (
  status: number,
  bodyText: string,
  headers?: HeaderValues,
  options?: ClassifyOptions,
): CodexFailure => {
  const now = options?.now ?? Date.now()
  const body = Option.getOrUndefined(decodeBody(parseJson(bodyText)))
  return classify(facts(status, body, bodyText, headers === undefined ? {} : headerRecord(headers)), bodyText, now)
}

/**
 * A failure event: SSE `response.failed`, a top-level SSE `error` event, or a WebSocket `error` frame
 * (`status`/`status_code` + `error{...}` + `headers{...}`, handled like the HTTP answer it wraps; header
 * values may be JSON numbers there).
 */
export const classifyEvent = (json: unknown, options?: ClassifyOptions): CodexFailure => {
  const now = options?.now ?? Date.now()
  const body = Option.getOrUndefined(decodeBody(json))
  const status = body?.status_code ?? body?.status
  return classify(facts(status, body, "", headerRecord(body?.headers ?? {})), "", now)
}
