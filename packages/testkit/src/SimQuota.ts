/**
 * Renders one account's simulated quota the way the live backend sends it: `x-codex-*` headers, the
 * `codex.rate_limits` frame, `wham/usage`, and the wrapped WebSocket `error` frame that echoes the headers.
 *
 * What the live shapes are, and where that is known from:
 * - A slot the plan does not have (window length 0) is sent as the retired marker: `0` used, `0` minutes, `0`
 *   seconds to reset and an empty `reset-at` in the headers (the seed's capture in cortexkit/openai-auth
 *   packages/opencode/src/tests/quota-normalize.test.ts, "a zero-placeholder secondary"), `null` in the frame
 *   and in `wham/usage` (docs/protocol.md §5.3: "windows may be null").
 * - Credit flags are Python booleans (`True`/`False`) in headers (docs/protocol.md §5.1, live dumps in
 *   earendil-works/pi#4172); codex-rs also reads `1`/`0` (codex-api/src/rate_limits.rs `parse_header_bool`),
 *   which `creditFlags: "digits"` sends. JSON bodies carry real booleans.
 * - The WebSocket error frame says `status_code`, writes header names as HTTP/1.1 prints them (pi#4172) and
 *   may carry numbers as JSON numbers (codex-rs responses_websocket.rs test
 *   `parse_wrapped_websocket_error_event_maps_to_transport_http`: `"x-codex-primary-window-minutes": 15`).
 */
import type { SimQuota } from "./SimTypes.ts"

const pyBool = (value: boolean) => (value ? "True" : "False")
const flag = (quota: SimQuota, value: boolean) => (quota.creditFlags === "digits" ? (value ? "1" : "0") : pyBool(value))

type Slot = "primary" | "secondary"

const slotOf = (quota: SimQuota, slot: Slot) =>
  slot === "primary"
    ? { used: quota.primaryUsedPercent, minutes: quota.primaryWindowMinutes, after: quota.primaryResetAfterSeconds }
    : {
        used: quota.secondaryUsedPercent,
        minutes: quota.secondaryWindowMinutes,
        after: quota.secondaryResetAfterSeconds,
      }

const slotHeaders = (quota: SimQuota, slot: Slot, nowS: number): Record<string, string> => {
  const { used, minutes, after } = slotOf(quota, slot)
  const prefix = `x-codex-${slot}`
  if (minutes === 0)
    return {
      [`${prefix}-used-percent`]: "0",
      [`${prefix}-window-minutes`]: "0",
      [`${prefix}-reset-after-seconds`]: "0",
      [`${prefix}-reset-at`]: "",
    }
  return {
    [`${prefix}-used-percent`]: String(used),
    [`${prefix}-window-minutes`]: String(minutes),
    [`${prefix}-reset-at`]: String(nowS + after),
    [`${prefix}-reset-after-seconds`]: String(after),
  }
}

export const quotaHeaders = (quota: SimQuota, plan: string, nowMs: number): Record<string, string> => {
  const nowS = Math.floor(nowMs / 1000)
  return {
    ...slotHeaders(quota, "primary", nowS),
    ...slotHeaders(quota, "secondary", nowS),
    "x-codex-credits-has-credits": flag(quota, quota.hasCredits),
    "x-codex-credits-unlimited": flag(quota, quota.unlimited),
    "x-codex-credits-balance": quota.balance,
    "x-codex-plan-type": plan,
    "x-codex-active-limit": quota.activeLimit,
  }
}

export const rateLimitsFrame = (quota: SimQuota, plan: string, nowMs: number) => {
  const nowS = Math.floor(nowMs / 1000)
  const window = (slot: Slot) => {
    const { used, minutes, after } = slotOf(quota, slot)
    return minutes === 0 ? null : { used_percent: used, window_minutes: minutes, reset_at: nowS + after }
  }
  return {
    type: "codex.rate_limits",
    plan_type: plan,
    rate_limits: { primary: window("primary"), secondary: window("secondary") },
    credits: { has_credits: quota.hasCredits, unlimited: quota.unlimited, balance: quota.balance },
  }
}

export const usageBody = (quota: SimQuota, plan: string, nowMs: number) => {
  const nowS = Math.floor(nowMs / 1000)
  const window = (slot: Slot) => {
    const { used, minutes, after } = slotOf(quota, slot)
    return minutes === 0
      ? null
      : { used_percent: used, limit_window_seconds: minutes * 60, reset_after_seconds: after, reset_at: nowS + after }
  }
  const limitReached = quota.primaryUsedPercent >= 100 || quota.secondaryUsedPercent >= 100
  return {
    plan_type: plan,
    rate_limit: {
      allowed: !limitReached,
      limit_reached: limitReached,
      primary_window: window("primary"),
      secondary_window: window("secondary"),
    },
    credits: { has_credits: quota.hasCredits, unlimited: quota.unlimited, balance: quota.balance },
    additional_rate_limits: [],
  }
}

/** `x-codex-primary-used-percent` -> `X-Codex-Primary-Used-Percent` */
const titleCase = (name: string) =>
  name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase())

const WHOLE = /^\d+$/

/**
 * The headers of a wrapped WebSocket error frame: names as printed on the wire, whole numbers (lengths,
 * seconds, reset times) as JSON numbers; percentages, flags and text stay strings.
 */
export const wsErrorHeaders = (headers: Readonly<Record<string, string>>): Record<string, string | number> => {
  const out: Record<string, string | number> = {}
  for (const [name, value] of Object.entries(headers))
    out[titleCase(name)] = WHOLE.test(value) && !name.endsWith("-percent") ? Number(value) : value
  return out
}

/** The wrapped WebSocket `error` frame, as the live backend sends a refusal on an open socket. */
export const wsErrorFrame = (status: number, error: Record<string, unknown>, headers: Record<string, string>) => ({
  type: "error",
  status_code: status,
  error,
  headers: wsErrorHeaders(headers),
})

/** the quota as it looks when the primary window is exhausted for `resetsInSeconds` more seconds */
export const exhausted = (quota: SimQuota, resetsInSeconds: number): SimQuota => ({
  ...quota,
  primaryUsedPercent: 100,
  primaryResetAfterSeconds: resetsInSeconds,
  activeLimit: "codex",
})

export const usageLimitBody = (plan: string, nowMs: number, resetsInSeconds: number) => ({
  error: {
    type: "usage_limit_reached",
    message: "The usage limit has been reached",
    plan_type: plan,
    resets_at: Math.floor(nowMs / 1000) + resetsInSeconds,
    resets_in_seconds: resetsInSeconds,
    eligible_promo: null,
  },
})
