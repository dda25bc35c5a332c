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
  creditFlag,
  type Family,
  familyIsEmpty,
  makeCredits,
  makeWindow,
  type NamedLimit,
  namedLimit,
  place,
  positionalMinutes,
  type QuotaSnapshot,
  type QuotaWindow,
  resetAtMs,
  resetFrom,
  snapshot,
  validMinutes,
  validPercent,
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

/** Header-like values: strings as HTTP sends them; numbers and booleans as a WebSocket error frame's JSON has them. */
export type HeaderValues = Headers | Readonly<Record<string, unknown>>

const headerString = (value: unknown): string | undefined =>
  typeof value === "string"
    ? value
    : (typeof value === "number" && Number.isFinite(value)) || typeof value === "boolean"
      ? String(value)
      : undefined

/** `LooseNumber` on a header string, without the schema machinery (every response carries a dozen of these) */
const headerNumber = (value: string | undefined): number | undefined => {
  const v = value?.trim()
  if (v === undefined || v === "") return undefined
  const n = Number(v)
  return Number.isFinite(n) ? n : undefined
}
const headerText = (value: string | undefined): string | undefined => {
  const v = value?.trim()
  return v === undefined || v === "" ? undefined : v
}

const isHeaders = (headers: HeaderValues): headers is Headers =>
  typeof (headers as Headers).forEach === "function" && typeof (headers as Headers).get === "function"

/** lower-cased header map of string values from either a `Headers` or a plain record (numbers written out) */
export const headerRecord = (headers: HeaderValues): Record<string, string> => {
  const out: Record<string, string> = {}
  if (isHeaders(headers)) {
    headers.forEach((value, key) => {
      out[key.toLowerCase()] = value
    })
  } else {
    for (const [key, value] of Object.entries(headers)) {
      const text = headerString(value)
      if (text !== undefined) out[key.toLowerCase()] = text
    }
  }
  return out
}

/** only the `x-codex-*` entries, lower-cased: the rest of a response's headers never matter here */
const codexHeaders = (headers: HeaderValues): Record<string, string> => {
  const out: Record<string, string> = {}
  if (isHeaders(headers)) {
    headers.forEach((value, key) => {
      const k = key.toLowerCase()
      if (k.startsWith("x-codex-")) out[k] = value
    })
  } else {
    for (const key of Object.keys(headers)) {
      const k = key.toLowerCase()
      if (!k.startsWith("x-codex-")) continue
      const value = headerString(headers[key])
      if (value !== undefined) out[k] = value
    }
  }
  return out
}

type Slot = "primary" | "secondary"
const SLOTS: ReadonlyArray<Slot> = ["primary", "secondary"]

/**
 * One slot: `undefined` when its used-percent header is absent, `"invalid"` when present but not a percentage
 * (blank, junk, outside 0..100), `"retired"` for the explicit marker (0 % used, a `0`-minute window and no
 * reset time: the live shape of a slot a plan does not have), else the window. A length that is missing, not
 * positive or absurd gives way to the slot's usual one.
 */
const headerSlot = (
  h: Record<string, string>,
  prefix: string,
  slot: Slot,
  now: number,
): QuotaWindow | "invalid" | "retired" | undefined => {
  const raw = h[`${prefix}-${slot}-used-percent`]
  if (raw === undefined) return undefined
  const used = headerNumber(raw)
  if (!validPercent(used)) return "invalid"
  const minutes = headerNumber(h[`${prefix}-${slot}-window-minutes`])
  const resetAt = resetAtMs(h[`${prefix}-${slot}-reset-at`])
  if (used === 0 && minutes === 0 && resetAt === undefined) return "retired"
  const resetsAt = resetFrom(now, resetAt, headerNumber(h[`${prefix}-${slot}-reset-after-seconds`]))
  return makeWindow(used, validMinutes(minutes) ?? positionalMinutes(slot), resetsAt)
}

/**
 * A family's slots. As the seed reads a header frame: one malformed used-percent makes the whole family
 * unreadable (it then says nothing, so it cannot erase a good earlier reading).
 */
const headerFamily = (h: Record<string, string>, prefix: string, now: number): Family => {
  const slots = SLOTS.map((slot) => headerSlot(h, prefix, slot, now))
  const family: Family = { other: [] }
  if (slots.includes("invalid")) return family
  let named = false
  for (const slot of slots) {
    if (slot === undefined) continue
    named = true
    if (typeof slot !== "string") place(family, slot)
  }
  if (named && familyIsEmpty(family)) family.retired = true
  return family
}

const FAMILY_KEY = /^x-codex-(.+)-(?:primary|secondary)-used-percent$/

/** Credits only when both flags read (codex-rs `parse_credits_snapshot`); a blank balance is absent. */
const headerCredits = (h: Record<string, string>) => {
  const hasCredits = creditFlag(h["x-codex-credits-has-credits"])
  const unlimited = creditFlag(h["x-codex-credits-unlimited"])
  if (hasCredits === undefined || unlimited === undefined) return undefined
  return makeCredits(hasCredits, unlimited, headerText(h["x-codex-credits-balance"]))
}

/**
 * `x-codex-*` response headers, and the `headers` object of a WebSocket error frame (whose values may be JSON
 * numbers). Undefined when they say nothing about quota.
 */
export const quotaFromHeaders = (headers: HeaderValues, now: number): QuotaSnapshot | undefined => {
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
  const credits = headerCredits(h)
  if (familyIsEmpty(main) && main.retired !== true && additional.length === 0 && credits === undefined) return undefined
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

const hasMainWindow = (s: QuotaSnapshot) =>
  s.fiveHour !== undefined || s.weekly !== undefined || s.otherWindows.length > 0

/** Whether a reading says what the main family's windows are now (some, or explicitly none). */
export const statesMain = (s: QuotaSnapshot): boolean => hasMainWindow(s) || s.mainRetired === true

/** the windows of an older reading still worth showing: those that have not reset since */
const freshFamily = (
  s: { readonly fiveHour?: QuotaWindow | undefined; readonly weekly?: QuotaWindow | undefined },
  other: ReadonlyArray<QuotaWindow>,
  at: number,
): Family => {
  const f: Family = { other: other.filter((w) => fresh(w, at) !== undefined) }
  const fiveHour = fresh(s.fiveHour, at)
  const weekly = fresh(s.weekly, at)
  if (fiveHour) f.fiveHour = fiveHour
  if (weekly) f.weekly = weekly
  return f
}

const familyOf = (
  s: { readonly fiveHour?: QuotaWindow | undefined; readonly weekly?: QuotaWindow | undefined },
  other: ReadonlyArray<QuotaWindow>,
  retired?: boolean,
): Family => {
  const f: Family = { other: [...other] }
  if (s.fiveHour) f.fiveHour = s.fiveHour
  if (s.weekly) f.weekly = s.weekly
  if (retired === true) f.retired = true
  return f
}

/**
 * Combines two readings of one account, as codex-rs keeps its latest snapshot per limit: the newer reading
 * (by `observedAt`) replaces a family's windows whenever it states that family, so a window it no longer
 * has (retired, or another slot now) does not linger; a family it does not state (another limit's frame,
 * unreadable headers) keeps the older windows that have not reset since. Named limits are replaced by name.
 * Plan, credits and the active limit carry over when the newer reading lacks them (codex-rs
 * `merge_rate_limit_fields`); `limitReached` belongs to the main family and goes with it.
 */
export const mergeQuota = (a: QuotaSnapshot | undefined, b: QuotaSnapshot): QuotaSnapshot => {
  if (a === undefined) return b
  const [older, newer] = a.observedAt > b.observedAt ? [b, a] : [a, b]
  const at = newer.observedAt
  const stated = statesMain(newer)
  const kept: Array<NamedLimit> = []
  for (const n of older.additional) {
    if (newer.additional.some((m) => m.name === n.name)) continue
    const family = freshFamily(n, n.other, at)
    if (!familyIsEmpty(family)) kept.push(namedLimit(n.name, family))
  }
  const carries =
    (newer.planType === undefined && older.planType !== undefined) ||
    (newer.credits === undefined && older.credits !== undefined) ||
    (newer.activeLimit === undefined && older.activeLimit !== undefined)
  // every response brings a reading with the same fields as the last one: nothing of the older survives
  if (stated && kept.length === 0 && !carries) return newer
  const main = stated
    ? familyOf(newer, newer.otherWindows, newer.mainRetired)
    : freshFamily(older, older.otherWindows, at)
  if (!stated && familyIsEmpty(main) && older.mainRetired === true) main.retired = true
  return snapshot({
    observedAt: at,
    source: newer.source,
    planType: newer.planType ?? older.planType,
    main,
    credits: newer.credits ?? older.credits,
    additional: [...newer.additional, ...kept],
    activeLimit: newer.activeLimit ?? older.activeLimit,
    limitReached: stated
      ? newer.limitReached
      : (newer.limitReached ?? (familyIsEmpty(main) ? undefined : older.limitReached)),
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
