/**
 * Quota from JSON: the WebSocket `codex.rate_limits` frame and the `wham/usage` body. Both are decoded
 * leniently with Schema (a junk value drops that one field, never the reading); re-exported by `Quota.ts`.
 */
import { Option, Schema } from "effect"
import {
  type Family,
  FIVE_HOUR_MINUTES,
  familyIsEmpty,
  LooseNumber,
  lenient,
  lenientValue,
  makeWindow,
  type NamedLimit,
  namedLimit,
  place,
  QuotaCredits,
  type QuotaSnapshot,
  type QuotaSource,
  resetFrom,
  snapshot,
  WEEKLY_MINUTES,
} from "./quota-model.ts"

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
