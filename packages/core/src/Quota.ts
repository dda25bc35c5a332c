/**
 * One quota snapshot type for every source: `x-codex-*` response headers, the WebSocket `codex.rate_limits`
 * frame and the `wham/usage` JSON. Windows are classified by their length, never by their slot
 * (primary/secondary are positional: a Free account reports its weekly window as primary).
 *
 * CONTRACT (owned by the quota helper): the schema below is shared by transports, accounts and opencode.
 * Add fields only; never rename.
 */
import { Schema } from "effect"

export const QuotaSource = Schema.Literals(["headers", "frame", "usage", "error"])
export type QuotaSource = typeof QuotaSource.Type

export class QuotaWindow extends Schema.Class<QuotaWindow>("QuotaWindow")({
  /** 0..100 */
  usedPercent: Schema.Number,
  /** window length in minutes (300 = 5h, 10080 = weekly) */
  windowMinutes: Schema.Number,
  /** epoch milliseconds; absent when the server did not say */
  resetsAt: Schema.optional(Schema.Number),
}) {}

export class QuotaCredits extends Schema.Class<QuotaCredits>("QuotaCredits")({
  hasCredits: Schema.Boolean,
  unlimited: Schema.Boolean,
  balance: Schema.optional(Schema.String),
}) {}

/** A limit beyond the main 5h/weekly pair, e.g. a model-scoped family (`x-codex-<name>-*`). */
export class NamedLimit extends Schema.Class<NamedLimit>("NamedLimit")({
  name: Schema.String,
  fiveHour: Schema.optional(QuotaWindow),
  weekly: Schema.optional(QuotaWindow),
  /** windows that are neither 5h nor weekly */
  other: Schema.Array(QuotaWindow),
}) {}

export class QuotaSnapshot extends Schema.Class<QuotaSnapshot>("QuotaSnapshot")({
  /** epoch milliseconds at which the reading was taken */
  observedAt: Schema.Number,
  source: QuotaSource,
  planType: Schema.optional(Schema.String),
  fiveHour: Schema.optional(QuotaWindow),
  weekly: Schema.optional(QuotaWindow),
  /** windows of the main family that are neither 5h nor weekly */
  otherWindows: Schema.Array(QuotaWindow),
  credits: Schema.optional(QuotaCredits),
  additional: Schema.Array(NamedLimit),
  /** which family the server says is binding (`x-codex-active-limit`) */
  activeLimit: Schema.optional(Schema.String),
  limitReached: Schema.optional(Schema.Boolean),
}) {}
