/**
 * The quota model (the contract `Quota.ts` re-exports unchanged) and the helpers every reader builds
 * snapshots with: lenient decoding, the validity rules for a window, classification by length.
 *
 * CONTRACT (owned by the quota helper): the schema below is shared by transports, accounts and opencode.
 * Add fields only; never rename.
 */
import { Effect, Option, Schema } from "effect"

export const QuotaSource = Schema.Literals(["headers", "frame", "usage", "error"])
export type QuotaSource = typeof QuotaSource.Type

// Plain readonly structs, not `Schema.Class`es: a reading is built for every response (headers) and every
// frame, and a class instance is validated by its constructor (CPU per response, and a parser built by the
// first one; docs/performance.md, "Round 3: mem2"). The schemas stay for every boundary: the store's quota
// cache is decoded and encoded with them (accounts `StoreSchema.ts`); the readers below build values that
// are valid by construction (core test/QuotaVectors.test.ts decodes what they build).

export const QuotaWindow = Schema.Struct({
  /** 0..100 */
  usedPercent: Schema.Number,
  /** window length in minutes (300 = 5h, 10080 = weekly) */
  windowMinutes: Schema.Number,
  /** epoch milliseconds; absent when the server did not say */
  resetsAt: Schema.optional(Schema.Number),
})
export interface QuotaWindow extends Schema.Schema.Type<typeof QuotaWindow> {}

export const QuotaCredits = Schema.Struct({
  hasCredits: Schema.Boolean,
  unlimited: Schema.Boolean,
  balance: Schema.optional(Schema.String),
})
export interface QuotaCredits extends Schema.Schema.Type<typeof QuotaCredits> {}

/** A limit beyond the main 5h/weekly pair, e.g. a model-scoped family (`x-codex-<name>-*`). */
export const NamedLimit = Schema.Struct({
  name: Schema.String,
  fiveHour: Schema.optional(QuotaWindow),
  weekly: Schema.optional(QuotaWindow),
  /** windows that are neither 5h nor weekly */
  other: Schema.Array(QuotaWindow),
})
export interface NamedLimit extends Schema.Schema.Type<typeof NamedLimit> {}

export const QuotaSnapshot = Schema.Struct({
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
  /**
   * The reading states that no window of the main family applies any more (every slot retired: a `0`-minute
   * header slot, a `null` window): it clears the windows an earlier reading had. A reading that only has no
   * main windows (another family's frame, malformed headers) says nothing about them and leaves them be.
   */
  mainRetired: Schema.optional(Schema.Boolean),
})
export interface QuotaSnapshot extends Schema.Schema.Type<typeof QuotaSnapshot> {}

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

/** Longest window length taken at face value (a year); anything longer is a glitch, not a window. */
export const MAX_WINDOW_MINUTES = 366 * 24 * 60

/** unix seconds (or, defensively, epoch ms when implausibly large) -> epoch ms */
export const epochMs = (value: number): number => (value < 1e11 ? value * 1000 : value)

/**
 * A reset time as sent: unix seconds (number or numeric string, ms when implausibly large) or, as the seed's
 * reader also takes, an ISO 8601 date. Empty, zero, negative and unparseable values are absent.
 */
export const resetAtMs = (value: unknown): number | undefined => {
  if (typeof value === "number") return Number.isFinite(value) && value > 0 ? epochMs(value) : undefined
  if (typeof value !== "string") return undefined
  const text = value.trim()
  if (text === "") return undefined
  const n = Number(text)
  if (Number.isFinite(n)) return n > 0 ? epochMs(n) : undefined
  const date = Date.parse(text)
  return Number.isNaN(date) ? undefined : date
}

export const resetFrom = (now: number, resetAt: number | undefined, resetAfterSeconds: number | undefined) =>
  resetAt ?? (resetAfterSeconds !== undefined && resetAfterSeconds >= 0 ? now + resetAfterSeconds * 1000 : undefined)

/** a used percentage the seed's reader accepts: finite and within 0..100 (anything else is not a reading) */
export const validPercent = (value: number | undefined): value is number =>
  value !== undefined && Number.isFinite(value) && value >= 0 && value <= 100

/** a window length taken as sent: positive and at most a year; otherwise the slot's usual length stands in */
export const validMinutes = (value: number | undefined): number | undefined =>
  value !== undefined && Number.isFinite(value) && value > 0 && value <= MAX_WINDOW_MINUTES ? value : undefined

export const positionalMinutes = (slot: "primary" | "secondary") =>
  slot === "primary" ? FIVE_HOUR_MINUTES : WEEKLY_MINUTES

export const makeWindow = (usedPercent: number, windowMinutes: number, resetsAt: number | undefined): QuotaWindow =>
  resetsAt === undefined ? { usedPercent, windowMinutes } : { usedPercent, windowMinutes, resetsAt }

export const makeCredits = (hasCredits: boolean, unlimited: boolean, balance: string | undefined): QuotaCredits => ({
  hasCredits,
  unlimited,
  ...(balance === undefined ? {} : { balance }),
})

/** A credit flag: `true`/`false` in any case (Python's `True`), `1`/`0` as codex-rs also takes, or a JSON bool. */
export const creditFlag = (value: unknown): boolean | undefined => {
  if (typeof value === "boolean") return value
  if (typeof value === "number") return value === 1 ? true : value === 0 ? false : undefined
  if (typeof value !== "string") return undefined
  const v = value.trim().toLowerCase()
  return v === "true" || v === "1" ? true : v === "false" || v === "0" ? false : undefined
}

export interface Family {
  fiveHour?: QuotaWindow
  weekly?: QuotaWindow
  other: Array<QuotaWindow>
  /** the reading named this family's slots and every one of them is retired */
  retired?: boolean
}

export const place = (family: Family, window: QuotaWindow | undefined): void => {
  if (window === undefined) return
  if (window.windowMinutes === FIVE_HOUR_MINUTES) family.fiveHour = window
  else if (window.windowMinutes === WEEKLY_MINUTES) family.weekly = window
  else family.other.push(window)
}

export const familyIsEmpty = (f: Family) => f.fiveHour === undefined && f.weekly === undefined && f.other.length === 0

export const namedLimit = (name: string, f: Family): NamedLimit => ({
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

export const snapshot = (p: SnapshotParts): QuotaSnapshot => ({
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
  ...(p.main.retired === true && familyIsEmpty(p.main) ? { mainRetired: true } : {}),
})
