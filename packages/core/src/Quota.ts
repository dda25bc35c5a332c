/**
 * One quota snapshot type for every source: `x-codex-*` response headers, the WebSocket `codex.rate_limits`
 * frame and the `wham/usage` JSON. Windows are classified by their length, never by their slot
 * (primary/secondary are positional: a Free account reports its weekly window as primary).
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
const lenientValue = <S extends Schema.Top>(schema: S) =>
  Schema.UndefinedOr(schema).pipe(Schema.catchDecoding(() => Effect.succeed(Option.some(undefined))))

/** Numbers arrive as JSON numbers or numeric strings; an empty string means absent. */
export const LooseNumber = Schema.Union([Schema.Finite, Schema.FiniteFromString])

const FIVE_HOUR_MINUTES = 300
const WEEKLY_MINUTES = 10080

/** unix seconds (or, defensively, epoch ms when implausibly large) -> epoch ms */
export const epochMs = (value: number): number => (value < 1e11 ? value * 1000 : value)

const resetFrom = (now: number, resetAt: number | undefined, resetAfterSeconds: number | undefined) =>
  resetAt !== undefined && resetAt > 0
    ? epochMs(resetAt)
    : resetAfterSeconds !== undefined && resetAfterSeconds >= 0
      ? now + resetAfterSeconds * 1000
      : undefined

// Every response repeats the same few windows, and a class instance costs a schema parse to build: the last
// ones built are reused when the values match (they are immutable).
const recentWindows: Array<QuotaWindow> = []
const makeWindow = (usedPercent: number, windowMinutes: number, resetsAt: number | undefined): QuotaWindow => {
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
const makeCredits = (hasCredits: boolean, unlimited: boolean, balance: string | undefined): QuotaCredits => {
  const last = recentCredits
  if (last !== undefined && last.hasCredits === hasCredits && last.unlimited === unlimited && last.balance === balance)
    return last
  recentCredits = new QuotaCredits({ hasCredits, unlimited, ...(balance === undefined ? {} : { balance }) })
  return recentCredits
}

interface Family {
  fiveHour?: QuotaWindow
  weekly?: QuotaWindow
  other: Array<QuotaWindow>
}

const place = (family: Family, window: QuotaWindow | undefined): void => {
  if (window === undefined) return
  if (window.windowMinutes === FIVE_HOUR_MINUTES) family.fiveHour = window
  else if (window.windowMinutes === WEEKLY_MINUTES) family.weekly = window
  else family.other.push(window)
}

const familyIsEmpty = (f: Family) => f.fiveHour === undefined && f.weekly === undefined && f.other.length === 0

const namedLimit = (name: string, f: Family): NamedLimit =>
  new NamedLimit({
    name,
    other: f.other,
    ...(f.fiveHour === undefined ? {} : { fiveHour: f.fiveHour }),
    ...(f.weekly === undefined ? {} : { weekly: f.weekly }),
  })

interface SnapshotParts {
  observedAt: number
  source: QuotaSource
  planType?: string | undefined
  main: Family
  credits?: QuotaCredits | undefined
  additional: Array<NamedLimit>
  activeLimit?: string | undefined
  limitReached?: boolean | undefined
}

const snapshot = (p: SnapshotParts): QuotaSnapshot =>
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

// ---- headers --------------------------------------------------------------------------------------------

/** `LooseNumber` on a header string, without the schema machinery (every response carries a dozen of these) */
const headerNumber = (value: string | undefined): number | undefined => {
  const v = value?.trim()
  if (v === undefined || v === "") return undefined
  const n = Number(v)
  return Number.isFinite(n) ? n : undefined
}
const headerBool = (value: string | undefined): boolean | undefined => {
  const v = value?.trim().toLowerCase()
  return v === "true" ? true : v === "false" ? false : undefined
}
const headerText = (value: string | undefined): string | undefined => {
  const v = value?.trim()
  return v === undefined || v === "" ? undefined : v
}

/** lower-cased header map from either a `Headers` or a plain record */
export const headerRecord = (headers: Headers | Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  if (typeof (headers as Headers).forEach === "function" && typeof (headers as Headers).get === "function") {
    ;(headers as Headers).forEach((value, key) => {
      out[key.toLowerCase()] = value
    })
  } else {
    for (const [key, value] of Object.entries(headers)) if (typeof value === "string") out[key.toLowerCase()] = value
  }
  return out
}

/** only the `x-codex-*` entries, lower-cased: the rest of a response's headers never matter here */
const codexHeaders = (headers: Headers | Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  if (typeof (headers as Headers).forEach === "function" && typeof (headers as Headers).get === "function") {
    ;(headers as Headers).forEach((value, key) => {
      const k = key.toLowerCase()
      if (k.startsWith("x-codex-")) out[k] = value
    })
  } else {
    const record = headers as Readonly<Record<string, string>>
    for (const key of Object.keys(record)) {
      const value = record[key]
      if (typeof value !== "string") continue
      const k = key.toLowerCase()
      if (k.startsWith("x-codex-")) out[k] = value
    }
  }
  return out
}

const headerWindow = (
  h: Record<string, string>,
  prefix: string,
  slot: "primary" | "secondary",
  now: number,
): QuotaWindow | undefined => {
  const used = headerNumber(h[`${prefix}-${slot}-used-percent`])
  if (used === undefined) return undefined
  const minutesRaw = headerNumber(h[`${prefix}-${slot}-window-minutes`])
  if (minutesRaw === 0) return undefined // slot not applicable
  // Without a length, fall back to the historical positional meaning.
  const minutes = minutesRaw ?? (slot === "primary" ? FIVE_HOUR_MINUTES : WEEKLY_MINUTES)
  const resetsAt = resetFrom(
    now,
    headerNumber(h[`${prefix}-${slot}-reset-at`]),
    headerNumber(h[`${prefix}-${slot}-reset-after-seconds`]),
  )
  return makeWindow(used, minutes, resetsAt)
}

const headerFamily = (h: Record<string, string>, prefix: string, now: number): Family => {
  const family: Family = { other: [] }
  place(family, headerWindow(h, prefix, "primary", now))
  place(family, headerWindow(h, prefix, "secondary", now))
  return family
}

const FAMILY_KEY = /^x-codex-(.+)-(?:primary|secondary)-used-percent$/

/** `x-codex-*` response headers (also the `headers` object inside a WebSocket error frame). */
export const quotaFromHeaders = (
  headers: Headers | Readonly<Record<string, string>>,
  now: number,
): QuotaSnapshot | undefined => {
  const h = codexHeaders(headers)
  const main = headerFamily(h, "x-codex", now)
  const additional: Array<NamedLimit> = []
  const seen = new Set<string>()
  for (const key of Object.keys(h)) {
    const name = FAMILY_KEY.exec(key)?.[1]
    if (name === undefined || seen.has(name)) continue
    seen.add(name)
    const family = headerFamily(h, `x-codex-${name}`, now)
    if (!familyIsEmpty(family)) additional.push(namedLimit(headerText(h[`x-codex-${name}-limit-name`]) ?? name, family))
  }
  const hasCredits = headerBool(h["x-codex-credits-has-credits"])
  const unlimited = headerBool(h["x-codex-credits-unlimited"])
  const balance = headerText(h["x-codex-credits-balance"])
  const credits =
    hasCredits === undefined && unlimited === undefined
      ? undefined
      : makeCredits(hasCredits ?? false, unlimited ?? false, balance)
  if (familyIsEmpty(main) && additional.length === 0 && credits === undefined) return undefined
  return snapshot({
    observedAt: now,
    source: "headers",
    planType: headerText(h["x-codex-plan-type"]),
    main,
    credits,
    additional,
    activeLimit: headerText(h["x-codex-active-limit"]),
  })
}

// ---- JSON: `codex.rate_limits` frames and `wham/usage` ---------------------------------------------------

const JsonWindow = Schema.Struct({
  used_percent: lenient(LooseNumber),
  window_minutes: lenient(LooseNumber),
  limit_window_seconds: lenient(LooseNumber),
  reset_at: lenient(LooseNumber),
  reset_after_seconds: lenient(LooseNumber),
  resets_in_seconds: lenient(LooseNumber),
})
type JsonWindow = typeof JsonWindow.Type

const JsonBucket = Schema.Struct({
  primary: lenient(JsonWindow),
  secondary: lenient(JsonWindow),
  primary_window: lenient(JsonWindow),
  secondary_window: lenient(JsonWindow),
  limit_reached: lenient(Schema.Boolean),
  allowed: lenient(Schema.Boolean),
})
type JsonBucket = typeof JsonBucket.Type

const LooseBool = Schema.Union([Schema.Boolean, Schema.String])
const JsonCredits = Schema.Struct({
  has_credits: lenient(LooseBool),
  unlimited: lenient(LooseBool),
  balance: lenient(Schema.Union([Schema.String, Schema.Finite])),
})

/** One additional limit: the array element shape (`rate_limit` nested) or a bare bucket (map values). */
const JsonNamed = Schema.Struct({
  ...JsonBucket.fields,
  limit_name: lenient(Schema.String),
  metered_feature: lenient(Schema.String),
  rate_limit: lenient(JsonBucket),
  rate_limits: lenient(JsonBucket),
})
type JsonNamed = typeof JsonNamed.Type

const JsonAdditional = Schema.Union([
  Schema.Array(lenientValue(JsonNamed)),
  Schema.Record(Schema.String, lenientValue(JsonNamed)),
])

const JsonQuota = Schema.Struct({
  plan_type: lenient(Schema.String),
  rate_limits: lenient(JsonBucket),
  rate_limit: lenient(JsonBucket),
  credits: lenient(JsonCredits),
  limit_name: lenient(Schema.String),
  metered_limit_name: lenient(Schema.String),
  additional_rate_limits: lenient(JsonAdditional),
})
type JsonQuota = typeof JsonQuota.Type

const decodeJsonQuota = Schema.decodeUnknownOption(JsonQuota)

const jsonWindow = (w: JsonWindow | undefined, slot: "primary" | "secondary", now: number) => {
  if (w === undefined || w.used_percent === undefined) return undefined
  const minutes =
    w.window_minutes ??
    (w.limit_window_seconds === undefined ? undefined : Math.ceil(w.limit_window_seconds / 60)) ??
    (slot === "primary" ? FIVE_HOUR_MINUTES : WEEKLY_MINUTES)
  if (minutes === 0) return undefined
  return makeWindow(w.used_percent, minutes, resetFrom(now, w.reset_at, w.reset_after_seconds ?? w.resets_in_seconds))
}

const jsonFamily = (b: JsonBucket | undefined, now: number): Family => {
  const family: Family = { other: [] }
  if (b === undefined) return family
  place(family, jsonWindow(b.primary_window ?? b.primary, "primary", now))
  place(family, jsonWindow(b.secondary_window ?? b.secondary, "secondary", now))
  return family
}

const looseBool = (v: boolean | string | undefined) =>
  typeof v === "boolean" ? v : v?.trim().toLowerCase() === "true" ? true : v === undefined ? undefined : false

const jsonCredits = (c: JsonQuota["credits"]): QuotaCredits | undefined => {
  if (c === undefined) return undefined
  const hasCredits = looseBool(c.has_credits)
  const unlimited = looseBool(c.unlimited)
  if (hasCredits === undefined && unlimited === undefined) return undefined
  return new QuotaCredits({
    hasCredits: hasCredits ?? false,
    unlimited: unlimited ?? false,
    ...(c.balance === undefined ? {} : { balance: String(c.balance) }),
  })
}

const jsonAdditional = (value: JsonQuota["additional_rate_limits"], now: number): Array<NamedLimit> => {
  if (value === undefined) return []
  const entries: Array<[string | undefined, JsonNamed | undefined]> = Array.isArray(value)
    ? value.map((item) => [undefined, item])
    : Object.entries(value)
  const out: Array<NamedLimit> = []
  for (const [key, item] of entries) {
    if (item === undefined) continue
    const family = jsonFamily(item.rate_limit ?? item.rate_limits ?? item, now)
    const name = item.limit_name ?? key ?? item.metered_feature
    if (name !== undefined && !familyIsEmpty(family)) out.push(namedLimit(name, family))
  }
  return out
}

const fromJson = (q: JsonQuota, source: QuotaSource, now: number): QuotaSnapshot => {
  const bucket = q.rate_limits ?? q.rate_limit
  const family = jsonFamily(bucket, now)
  const additional = jsonAdditional(q.additional_rate_limits, now)
  // A frame may describe a family other than the default one (`metered_limit_name`).
  const name = q.limit_name ?? q.metered_limit_name
  const isMain = name === undefined || name.toLowerCase() === "codex"
  if (!isMain && !familyIsEmpty(family)) additional.unshift(namedLimit(name, family))
  return snapshot({
    observedAt: now,
    source,
    planType: q.plan_type,
    main: isMain ? family : { other: [] },
    credits: jsonCredits(q.credits),
    additional,
    limitReached: bucket?.limit_reached ?? (bucket?.allowed === false ? true : undefined),
  })
}

/** The in-band WebSocket `codex.rate_limits` frame; undefined when it is not one or carries nothing. */
export const quotaFromRateLimitsFrame = (json: unknown, now: number): QuotaSnapshot | undefined => {
  const decoded = decodeJsonQuota(json)
  if (Option.isNone(decoded)) return undefined
  const s = fromJson(decoded.value, "frame", now)
  const empty =
    s.fiveHour === undefined &&
    s.weekly === undefined &&
    s.otherWindows.length === 0 &&
    s.additional.length === 0 &&
    s.credits === undefined
  return empty ? undefined : s
}

/** The `wham/usage` body. Never fails: an unreadable body is an empty reading. */
export const quotaFromUsage = (json: unknown, now: number): QuotaSnapshot =>
  Option.match(decodeJsonQuota(json), {
    onNone: () => snapshot({ observedAt: now, source: "usage", main: { other: [] }, additional: [] }),
    onSome: (q) => fromJson(q, "usage", now),
  })

// ---- combining readings --------------------------------------------------------------------------------

const fresh = (w: QuotaWindow | undefined, at: number) =>
  w !== undefined && (w.resetsAt === undefined || w.resetsAt > at) ? w : undefined

const mergeFamily = (older: Family, newer: Family, at: number): Family => {
  const other = new Map<number, QuotaWindow>()
  for (const w of older.other) if (fresh(w, at)) other.set(w.windowMinutes, w)
  for (const w of newer.other) other.set(w.windowMinutes, w)
  const out: Family = { other: [...other.values()] }
  const fiveHour = newer.fiveHour ?? fresh(older.fiveHour, at)
  const weekly = newer.weekly ?? fresh(older.weekly, at)
  if (fiveHour) out.fiveHour = fiveHour
  if (weekly) out.weekly = weekly
  return out
}

const familyOf = (
  s: { fiveHour?: QuotaWindow | undefined; weekly?: QuotaWindow | undefined },
  other: ReadonlyArray<QuotaWindow>,
): Family => {
  const f: Family = { other: [...other] }
  if (s.fiveHour) f.fiveHour = s.fiveHour
  if (s.weekly) f.weekly = s.weekly
  return f
}

/** Whether merging `older` into `newer` would give `newer` back unchanged (the common case, answered cheaply). */
const covers = (newer: QuotaSnapshot, older: QuotaSnapshot, at: number): boolean =>
  older.additional.length === 0 &&
  newer.additional.every((n, i) => newer.additional.findIndex((m) => m.name === n.name) === i) &&
  newer.otherWindows.length === 0 &&
  older.otherWindows.length === 0 &&
  (newer.fiveHour !== undefined || fresh(older.fiveHour, at) === undefined) &&
  (newer.weekly !== undefined || fresh(older.weekly, at) === undefined) &&
  (newer.planType !== undefined || older.planType === undefined) &&
  (newer.credits !== undefined || older.credits === undefined) &&
  (newer.activeLimit !== undefined || older.activeLimit === undefined) &&
  (newer.limitReached !== undefined || older.limitReached === undefined)

/**
 * Combines two readings, window by window: the newer reading (by `observedAt`) wins wherever it has a value;
 * windows only the older one knows are kept unless they have already reset (their percentage is stale).
 */
export const mergeQuota = (a: QuotaSnapshot | undefined, b: QuotaSnapshot): QuotaSnapshot => {
  if (a === undefined) return b
  const [older, newer] = a.observedAt > b.observedAt ? [b, a] : [a, b]
  const at = newer.observedAt
  // every response brings a reading with the same fields as the last one: nothing of the older survives
  if (covers(newer, older, at)) return newer
  const named = new Map<string, NamedLimit>()
  for (const n of older.additional) named.set(n.name, n)
  for (const n of newer.additional) {
    const prev = named.get(n.name)
    named.set(
      n.name,
      prev === undefined ? n : namedLimit(n.name, mergeFamily(familyOf(prev, prev.other), familyOf(n, n.other), at)),
    )
  }
  return snapshot({
    observedAt: at,
    source: newer.source,
    planType: newer.planType ?? older.planType,
    main: mergeFamily(familyOf(older, older.otherWindows), familyOf(newer, newer.otherWindows), at),
    credits: newer.credits ?? older.credits,
    additional: [...named.values()],
    activeLimit: newer.activeLimit ?? older.activeLimit,
    limitReached: newer.limitReached ?? older.limitReached,
  })
}

const allWindows = (s: QuotaSnapshot): Array<QuotaWindow> => {
  const out: Array<QuotaWindow> = []
  const add = (w: QuotaWindow | undefined) => {
    if (w !== undefined) out.push(w)
  }
  add(s.fiveHour)
  add(s.weekly)
  out.push(...s.otherWindows)
  for (const n of s.additional) {
    add(n.fiveHour)
    add(n.weekly)
    out.push(...n.other)
  }
  return out
}

/** The soonest reset time (epoch ms) of any window in the snapshot. */
export const earliestReset = (s: QuotaSnapshot): number | undefined => {
  let min: number | undefined
  for (const w of allWindows(s))
    if (w.resetsAt !== undefined && (min === undefined || w.resetsAt < min)) min = w.resetsAt
  return min
}

/**
 * When a spent account is usable again: the latest reset among the main family's windows at 100 % (every
 * exhausted window must reset), or undefined when none is exhausted.
 */
export const exhaustedUntil = (s: QuotaSnapshot): number | undefined => {
  let max: number | undefined
  for (const w of [s.fiveHour, s.weekly, ...s.otherWindows])
    if (w !== undefined && w.usedPercent >= 100 && w.resetsAt !== undefined && (max === undefined || w.resetsAt > max))
      max = w.resetsAt
  return max
}
