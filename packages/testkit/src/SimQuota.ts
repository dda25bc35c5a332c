/** Renders one account's simulated quota as `x-codex-*` headers, a `codex.rate_limits` frame and `wham/usage`. */
import type { SimQuota } from "./SimTypes.ts"

const pyBool = (value: boolean) => (value ? "True" : "False")

export const quotaHeaders = (quota: SimQuota, plan: string, nowMs: number): Record<string, string> => {
  const nowS = Math.floor(nowMs / 1000)
  return {
    "x-codex-primary-used-percent": String(quota.primaryUsedPercent),
    "x-codex-primary-window-minutes": String(quota.primaryWindowMinutes),
    "x-codex-primary-reset-at": String(nowS + quota.primaryResetAfterSeconds),
    "x-codex-primary-reset-after-seconds": String(quota.primaryResetAfterSeconds),
    "x-codex-secondary-used-percent": String(quota.secondaryUsedPercent),
    "x-codex-secondary-window-minutes": String(quota.secondaryWindowMinutes),
    "x-codex-secondary-reset-at": String(nowS + quota.secondaryResetAfterSeconds),
    "x-codex-secondary-reset-after-seconds": String(quota.secondaryResetAfterSeconds),
    "x-codex-credits-has-credits": pyBool(quota.hasCredits),
    "x-codex-credits-unlimited": pyBool(quota.unlimited),
    "x-codex-credits-balance": quota.balance,
    "x-codex-plan-type": plan,
    "x-codex-active-limit": quota.activeLimit,
  }
}

export const rateLimitsFrame = (quota: SimQuota, plan: string, nowMs: number) => {
  const nowS = Math.floor(nowMs / 1000)
  return {
    type: "codex.rate_limits",
    plan_type: plan,
    rate_limits: {
      primary: {
        used_percent: quota.primaryUsedPercent,
        window_minutes: quota.primaryWindowMinutes,
        reset_at: nowS + quota.primaryResetAfterSeconds,
      },
      secondary: {
        used_percent: quota.secondaryUsedPercent,
        window_minutes: quota.secondaryWindowMinutes,
        reset_at: nowS + quota.secondaryResetAfterSeconds,
      },
    },
    credits: { has_credits: quota.hasCredits, unlimited: quota.unlimited, balance: quota.balance },
  }
}

export const usageBody = (quota: SimQuota, plan: string, nowMs: number) => {
  const nowS = Math.floor(nowMs / 1000)
  const window = (used: number, minutes: number, after: number) =>
    minutes === 0
      ? null
      : { used_percent: used, limit_window_seconds: minutes * 60, reset_after_seconds: after, reset_at: nowS + after }
  const limitReached = quota.primaryUsedPercent >= 100 || quota.secondaryUsedPercent >= 100
  return {
    plan_type: plan,
    rate_limit: {
      allowed: !limitReached,
      limit_reached: limitReached,
      primary_window: window(quota.primaryUsedPercent, quota.primaryWindowMinutes, quota.primaryResetAfterSeconds),
      secondary_window: window(
        quota.secondaryUsedPercent,
        quota.secondaryWindowMinutes,
        quota.secondaryResetAfterSeconds,
      ),
    },
    credits: { has_credits: quota.hasCredits, unlimited: quota.unlimited, balance: quota.balance },
    additional_rate_limits: [],
  }
}

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
