/**
 * One quota snapshot type for every source: `x-codex-*` response headers, the WebSocket `codex.rate_limits`
 * frame and the `wham/usage` JSON. Windows are classified by their length, never by their slot
 * (primary/secondary are positional: a Free account reports its weekly window as primary).
 *
 * The model (the CONTRACT shared by transports, accounts and opencode) lives in `internal/quota-model.ts`
 * and the JSON readers in `internal/quota-json.ts`; this module re-exports both unchanged and holds the
 * header reader (every response carries one) and the combining of readings.
 */
import {
  type Family,
  FIVE_HOUR_MINUTES,
  familyIsEmpty,
  makeCredits,
  makeWindow,
  type NamedLimit,
  namedLimit,
  place,
  type QuotaSnapshot,
  type QuotaWindow,
  resetFrom,
  snapshot,
  WEEKLY_MINUTES,
} from "./internal/quota-model.ts"

export { quotaFromRateLimitsFrame, quotaFromUsage } from "./internal/quota-json.ts"
export {
  epochMs,
  LooseNumber,
  lenient,
  NamedLimit,
  QuotaCredits,
  QuotaSnapshot,
  QuotaSource,
  QuotaWindow,
} from "./internal/quota-model.ts"

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
