/**
 * Quota from JSON: the WebSocket `codex.rate_limits` frame and the `wham/usage` body (docs/protocol.md §5.3,
 * §6). Both are decoded leniently with Schema (a junk value drops that one field, never the reading);
 * re-exported by `Quota.ts`.
 *
 * `additional_rate_limits` comes in two shapes: the array codex-rs's models describe (`[{limit_name,
 * metered_feature, rate_limit: {primary_window, …}}]`) and the map keyed by model name that the seed saw live
 * on the WebSocket frame (`{"GPT-5.3-Codex-Spark": {primary, secondary, …}}`). Both are read.
 */
import { Option, Schema } from "effect"
import {
  creditFlag,
  type Family,
  familyIsEmpty,
  LooseNumber,
  lenient,
  lenientValue,
  makeCredits,
  makeWindow,
  type NamedLimit,
  namedLimit,
  place,
  positionalMinutes,
  type QuotaCredits,
  type QuotaSnapshot,
  type QuotaSource,
  type QuotaWindow,
  resetAtMs,
  resetFrom,
  snapshot,
  validMinutes,
  validPercent,
} from "./quota-model.ts"

/**
 * The JSON shapes, built by the first reading that needs them rather than when the module loads: a plugin on
 * HTTP never reads quota JSON (headers carry it), and building these at load cost ~1 MB of its start memory
 * (docs/performance.md, issue 18).
 */
const jsonSchemas = () => {
  const JsonWindow = Schema.Struct({
    used_percent: lenient(LooseNumber),
    window_minutes: lenient(LooseNumber),
    limit_window_seconds: lenient(LooseNumber),
    reset_at: lenient(Schema.Union([Schema.Finite, Schema.String])),
    reset_after_seconds: lenient(LooseNumber),
    resets_in_seconds: lenient(LooseNumber),
  })

  /** a slot: a window, `null` (retired), or absent; anything else is unreadable */
  const JsonSlot = lenient(Schema.NullOr(JsonWindow))

  const JsonBucket = Schema.Struct({
    primary: JsonSlot,
    secondary: JsonSlot,
    primary_window: JsonSlot,
    secondary_window: JsonSlot,
    limit_reached: lenient(Schema.Boolean),
    allowed: lenient(Schema.Boolean),
  })

  const JsonCredits = Schema.Struct({
    has_credits: lenient(Schema.Unknown),
    unlimited: lenient(Schema.Unknown),
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
  return { JsonWindow, JsonBucket, JsonNamed, JsonQuota }
}
type JsonSchemas = ReturnType<typeof jsonSchemas>
type JsonWindow = JsonSchemas["JsonWindow"]["Type"]
type JsonBucket = JsonSchemas["JsonBucket"]["Type"]
type JsonNamed = JsonSchemas["JsonNamed"]["Type"]
type JsonQuota = JsonSchemas["JsonQuota"]["Type"]

/** suspended: the schemas are built by the first reading, not at module load (docs/performance.md, start) */
const decodeJsonQuota = Schema.decodeUnknownOption(Schema.suspend(() => jsonSchemas().JsonQuota))

/**
 * One slot, by the same rules as a header slot: `null`, or the seed's zero shape (0 % used, no length, no
 * reset), or a `0`-length 0 % window is retired; a used percentage outside 0..100 drops the window; a length
 * that is not positive or absurd gives way to the slot's usual one. The usage endpoint sends seconds
 * (minutes = ceil(s / 60), §5.3), the frame minutes.
 */
const jsonSlot = (
  w: JsonWindow | null | undefined,
  slot: "primary" | "secondary",
  now: number,
): QuotaWindow | "retired" | undefined => {
  if (w === null) return "retired"
  if (w === undefined || !validPercent(w.used_percent)) return undefined
  const seconds = w.limit_window_seconds
  const sent = w.window_minutes ?? (seconds === undefined ? undefined : seconds > 0 ? Math.ceil(seconds / 60) : seconds)
  const resetAt = resetAtMs(w.reset_at)
  if (w.used_percent === 0 && (sent === undefined || sent === 0) && resetAt === undefined) return "retired"
  const resetsAt = resetFrom(now, resetAt, w.reset_after_seconds ?? w.resets_in_seconds)
  return makeWindow(w.used_percent, validMinutes(sent) ?? positionalMinutes(slot), resetsAt)
}

const jsonFamily = (b: JsonBucket | undefined, now: number): Family => {
  const family: Family = { other: [] }
  if (b === undefined) return family
  const slots: Array<[JsonWindow | null | undefined, "primary" | "secondary"]> = [
    [b.primary_window !== undefined ? b.primary_window : b.primary, "primary"],
    [b.secondary_window !== undefined ? b.secondary_window : b.secondary, "secondary"],
  ]
  let retired = false
  for (const [raw, slot] of slots) {
    const window = jsonSlot(raw, slot, now)
    if (window === "retired") retired = true
    else place(family, window)
  }
  if (retired && familyIsEmpty(family)) family.retired = true
  return family
}

/** both flags, as codex-rs requires them (a frame without one fails its parse there) */
const jsonCredits = (c: JsonQuota["credits"]): QuotaCredits | undefined => {
  if (c === undefined) return undefined
  const hasCredits = creditFlag(c.has_credits)
  const unlimited = creditFlag(c.unlimited)
  if (hasCredits === undefined || unlimited === undefined) return undefined
  const balance = c.balance === undefined ? undefined : String(c.balance).trim()
  return makeCredits(hasCredits, unlimited, balance === "" ? undefined : balance)
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
  const name = q.metered_limit_name ?? q.limit_name
  const isMain = name === undefined || name.toLowerCase() === "codex"
  if (!isMain && !familyIsEmpty(family)) additional.unshift(namedLimit(name, family))
  return snapshot({
    observedAt: now,
    source,
    planType: q.plan_type,
    main: isMain ? family : { other: [] },
    credits: jsonCredits(q.credits),
    additional,
    limitReached: isMain ? (bucket?.limit_reached ?? (bucket?.allowed === false ? true : undefined)) : undefined,
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
    s.mainRetired !== true &&
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
