/**
 * What a Codex refusal means for the caller. Every failure the backend can answer with (HTTP status + JSON
 * body, a WebSocket `error` frame, an SSE `response.failed` / `error` event) is classified into one of these,
 * and only the accounts layer decides what to do with it (fall back, back off, stop).
 *
 * CONTRACT (owned by the error-classification helper): the classes and their fields are shared. Add only.
 */
import { Schema } from "effect"

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
