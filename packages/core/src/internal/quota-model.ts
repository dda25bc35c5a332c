/**
 * The quota model (the contract `Quota.ts` re-exports unchanged) and the helpers every reader builds
 * snapshots with: lenient decoding, window classification by length, reuse of recent immutable instances.
 *
 * CONTRACT (owned by the quota helper): the schema below is shared by transports, accounts and opencode.
 * Add fields only; never rename.
 */
import { Effect, Option, Schema } from "effect"

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

// ---------------------------------------------------------------------------------------------------------
// Normalisation. Every source is decoded leniently: a junk value drops that one field, never the reading.
// ---------------------------------------------------------------------------------------------------------

/** A field that decodes to `undefined` instead of failing the whole structure. */
export const lenient = <S extends Schema.Top>(schema: S) =>
  Schema.optional(Schema.UndefinedOr(schema).pipe(Schema.catchDecoding(() => Effect.succeed(Option.some(undefined)))))

/** A value that decodes to `undefined` instead of failing (array elements, record values). */
export const lenientValue = <S extends Schema.Top>(schema: S) =>
  Schema.UndefinedOr(schema).pipe(Schema.catchDecoding(() => Effect.succeed(Option.some(undefined))))

/** Numbers arrive as JSON numbers or numeric strings; an empty string means absent. */
export const LooseNumber = Schema.Union([Schema.Finite, Schema.FiniteFromString])

export const FIVE_HOUR_MINUTES = 300
export const WEEKLY_MINUTES = 10080

/** unix seconds (or, defensively, epoch ms when implausibly large) -> epoch ms */
export const epochMs = (value: number): number => (value < 1e11 ? value * 1000 : value)

export const resetFrom = (now: number, resetAt: number | undefined, resetAfterSeconds: number | undefined) =>
  resetAt !== undefined && resetAt > 0
    ? epochMs(resetAt)
    : resetAfterSeconds !== undefined && resetAfterSeconds >= 0
      ? now + resetAfterSeconds * 1000
      : undefined

// Every response repeats the same few windows, and a class instance costs a schema parse to build: the last
// ones built are reused when the values match (they are immutable).
const recentWindows: Array<QuotaWindow> = []
export const makeWindow = (usedPercent: number, windowMinutes: number, resetsAt: number | undefined): QuotaWindow => {
  for (const w of recentWindows) {
    if (w.usedPercent === usedPercent && w.windowMinutes === windowMinutes && w.resetsAt === resetsAt) return w
  }
  const window =
    resetsAt === undefined
      ? new QuotaWindow({ usedPercent, windowMinutes })
      : new QuotaWindow({ usedPercent, windowMinutes, resetsAt })
  recentWindows.unshift(window)
  if (recentWindows.length > 8) recentWindows.pop()
  return window
}

let recentCredits: QuotaCredits | undefined
export const makeCredits = (hasCredits: boolean, unlimited: boolean, balance: string | undefined): QuotaCredits => {
  const last = recentCredits
  if (last !== undefined && last.hasCredits === hasCredits && last.unlimited === unlimited && last.balance === balance)
    return last
  recentCredits = new QuotaCredits({ hasCredits, unlimited, ...(balance === undefined ? {} : { balance }) })
  return recentCredits
}

export interface Family {
  fiveHour?: QuotaWindow
  weekly?: QuotaWindow
  other: Array<QuotaWindow>
}

export const place = (family: Family, window: QuotaWindow | undefined): void => {
  if (window === undefined) return
  if (window.windowMinutes === FIVE_HOUR_MINUTES) family.fiveHour = window
  else if (window.windowMinutes === WEEKLY_MINUTES) family.weekly = window
  else family.other.push(window)
}

export const familyIsEmpty = (f: Family) => f.fiveHour === undefined && f.weekly === undefined && f.other.length === 0

export const namedLimit = (name: string, f: Family): NamedLimit =>
  new NamedLimit({
    name,
    other: f.other,
    ...(f.fiveHour === undefined ? {} : { fiveHour: f.fiveHour }),
    ...(f.weekly === undefined ? {} : { weekly: f.weekly }),
  })

export interface SnapshotParts {
  observedAt: number
  source: QuotaSource
  planType?: string | undefined
  main: Family
  credits?: QuotaCredits | undefined
  additional: Array<NamedLimit>
  activeLimit?: string | undefined
  limitReached?: boolean | undefined
}

export const snapshot = (p: SnapshotParts): QuotaSnapshot =>
  new QuotaSnapshot({
    observedAt: p.observedAt,
    source: p.source,
    otherWindows: p.main.other,
    additional: p.additional,
    ...(p.planType === undefined ? {} : { planType: p.planType }),
    ...(p.main.fiveHour === undefined ? {} : { fiveHour: p.main.fiveHour }),
    ...(p.main.weekly === undefined ? {} : { weekly: p.main.weekly }),
    ...(p.credits === undefined ? {} : { credits: p.credits }),
    ...(p.activeLimit === undefined ? {} : { activeLimit: p.activeLimit }),
    ...(p.limitReached === undefined ? {} : { limitReached: p.limitReached }),
  })
