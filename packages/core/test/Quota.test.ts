import { describe, expect, test } from "bun:test"
import {
  earliestReset,
  exhaustedUntil,
  mergeQuota,
  quotaFromHeaders,
  quotaFromRateLimitsFrame,
  quotaFromUsage,
} from "@cortexkit/openai-auth-core/Quota"

const NOW = 1_780_000_000_000
const NOW_S = NOW / 1000

/** the shape of a live Plus 429 header dump (§5.1), keys in mixed case as proxies print them */
const plusHeaders = {
  "X-Codex-Primary-Used-Percent": "100.0",
  "X-Codex-Primary-Window-Minutes": "300",
  "X-Codex-Primary-Reset-At": String(NOW_S + 3600),
  "X-Codex-Primary-Reset-After-Seconds": "3600",
  "X-Codex-Secondary-Used-Percent": "42",
  "X-Codex-Secondary-Window-Minutes": "10080",
  "X-Codex-Secondary-Reset-At": String(NOW_S + 86_400),
  "X-Codex-Secondary-Reset-After-Seconds": "86400",
  "X-Codex-Primary-Over-Secondary-Limit-Percent": "50",
  "X-Codex-Credits-Has-Credits": "False",
  "X-Codex-Credits-Unlimited": "false",
  "X-Codex-Credits-Balance": "",
  "X-Codex-Plan-Type": "plus",
  "X-Codex-Active-Limit": "codex",
  "Content-Type": "application/json",
}

describe("quotaFromHeaders", () => {
  test("a Plus dump: 5h and weekly by window length, credits, plan, active limit", () => {
    const q = quotaFromHeaders(plusHeaders, NOW)
    expect(q?.source).toBe("headers")
    expect(q?.observedAt).toBe(NOW)
    expect(q?.fiveHour).toEqual(
      expect.objectContaining({ usedPercent: 100, windowMinutes: 300, resetsAt: NOW + 3_600_000 }),
    )
    expect(q?.weekly).toEqual(
      expect.objectContaining({ usedPercent: 42, windowMinutes: 10080, resetsAt: NOW + 86_400_000 }),
    )
    expect(q?.otherWindows).toEqual([])
    expect(q?.credits).toEqual(expect.objectContaining({ hasCredits: false, unlimited: false }))
    expect(q?.credits?.balance).toBeUndefined()
    expect(q?.planType).toBe("plus")
    expect(q?.activeLimit).toBe("codex")
    expect(q?.additional).toEqual([])
    expect(q !== undefined && exhaustedUntil(q)).toBe(NOW + 3_600_000)
    expect(q !== undefined && earliestReset(q)).toBe(NOW + 3_600_000)
  })

  test("a Free account: weekly in primary, secondary not applicable, empty reset-at", () => {
    const h = new Headers({
      "x-codex-primary-used-percent": "12.5",
      "x-codex-primary-window-minutes": "10080",
      "x-codex-primary-reset-at": "",
      "x-codex-primary-reset-after-seconds": "600",
      "x-codex-secondary-used-percent": "0",
      "x-codex-secondary-window-minutes": "0",
      "x-codex-secondary-reset-at": "",
      "x-codex-credits-has-credits": "TRUE",
      "x-codex-credits-unlimited": "False",
      "x-codex-credits-balance": "17.5",
      "x-codex-plan-type": "free",
    })
    const q = quotaFromHeaders(h, NOW)
    expect(q?.fiveHour).toBeUndefined()
    expect(q?.weekly).toEqual(
      expect.objectContaining({ usedPercent: 12.5, windowMinutes: 10080, resetsAt: NOW + 600_000 }),
    )
    expect(q?.otherWindows).toEqual([])
    expect(q?.credits).toEqual(expect.objectContaining({ hasCredits: true, unlimited: false, balance: "17.5" }))
  })

  test("odd windows go to otherWindows; other families become named limits", () => {
    const q = quotaFromHeaders(
      {
        "x-codex-primary-used-percent": "5",
        "x-codex-primary-window-minutes": "60",
        "x-codex-bengalfox-primary-used-percent": "80",
        "x-codex-bengalfox-primary-window-minutes": "300",
        "x-codex-bengalfox-secondary-used-percent": "20",
        "x-codex-bengalfox-secondary-window-minutes": "10080",
        "x-codex-bengalfox-limit-name": "GPT-5.3-Codex-Spark",
        "x-codex-other-primary-used-percent": "1",
        "x-codex-other-primary-window-minutes": "1440",
        "x-codex-active-limit": "bengalfox",
      },
      NOW,
    )
    expect(q?.otherWindows.map((w) => [w.windowMinutes, w.usedPercent])).toEqual([[60, 5]])
    expect(q?.activeLimit).toBe("bengalfox")
    const spark = q?.additional.find((n) => n.name === "GPT-5.3-Codex-Spark")
    expect(spark?.fiveHour?.usedPercent).toBe(80)
    expect(spark?.weekly?.usedPercent).toBe(20)
    const other = q?.additional.find((n) => n.name === "other")
    expect(other?.other.map((w) => w.windowMinutes)).toEqual([1440])
  })

  test("no quota at all, and junk values, are not a crash", () => {
    expect(quotaFromHeaders({ "content-type": "text/event-stream", "x-codex-plan-type": "plus" }, NOW)).toBeUndefined()
    expect(quotaFromHeaders(new Headers(), NOW)).toBeUndefined()
    // one junk percentage makes the family unreadable (the seed's rule), so nothing is left to report
    const junk = {
      "x-codex-primary-used-percent": "lots",
      "x-codex-secondary-used-percent": "7",
      "x-codex-secondary-window-minutes": "10080",
      "x-codex-credits-has-credits": "maybe",
    }
    expect(quotaFromHeaders(junk, NOW)).toBeUndefined()
    const q = quotaFromHeaders(
      {
        "x-codex-secondary-used-percent": "7",
        "x-codex-secondary-window-minutes": "10080",
        "x-codex-secondary-reset-at": "soon",
      },
      NOW,
    )
    expect(q?.weekly?.usedPercent).toBe(7)
    expect(q?.weekly?.resetsAt).toBeUndefined()
  })
})

describe("quotaFromRateLimitsFrame", () => {
  test("the WebSocket frame, with a model-keyed additional_rate_limits map", () => {
    const q = quotaFromRateLimitsFrame(
      {
        type: "codex.rate_limits",
        plan_type: "pro",
        rate_limits: {
          primary: { used_percent: 10, window_minutes: 300, reset_at: NOW_S + 100 },
          secondary: { used_percent: 30, window_minutes: 10080, reset_at: NOW_S + 1000 },
        },
        credits: { has_credits: true, unlimited: false, balance: 12 },
        additional_rate_limits: {
          "gpt-5.3-codex-spark": { primary: { used_percent: 50, window_minutes: 300 }, secondary: null },
        },
      },
      NOW,
    )
    expect(q?.source).toBe("frame")
    expect(q?.planType).toBe("pro")
    expect(q?.fiveHour?.resetsAt).toBe(NOW + 100_000)
    expect(q?.weekly?.usedPercent).toBe(30)
    expect(q?.credits).toEqual(expect.objectContaining({ hasCredits: true, balance: "12" }))
    expect(q?.additional[0]?.name).toBe("gpt-5.3-codex-spark")
    expect(q?.additional[0]?.fiveHour?.usedPercent).toBe(50)
  })

  test("a frame for another metered limit is a named limit; junk frames are undefined", () => {
    const q = quotaFromRateLimitsFrame(
      {
        type: "codex.rate_limits",
        metered_limit_name: "bengalfox",
        rate_limits: { primary: { used_percent: 9, window_minutes: 300 } },
      },
      NOW,
    )
    expect(q?.fiveHour).toBeUndefined()
    expect(q?.additional[0]?.name).toBe("bengalfox")
    expect(quotaFromRateLimitsFrame("nope", NOW)).toBeUndefined()
    expect(quotaFromRateLimitsFrame({ type: "codex.rate_limits", rate_limits: 5 }, NOW)).toBeUndefined()
  })
})

describe("quotaFromUsage", () => {
  test("wham/usage with seconds windows and an additional_rate_limits array", () => {
    const q = quotaFromUsage(
      {
        plan_type: "plus",
        rate_limit: {
          allowed: true,
          limit_reached: false,
          primary_window: {
            used_percent: 3,
            limit_window_seconds: 18000,
            reset_after_seconds: 100,
            reset_at: NOW_S + 100,
          },
          secondary_window: { used_percent: 40, limit_window_seconds: 604800, reset_after_seconds: 9, reset_at: null },
        },
        credits: { has_credits: false, unlimited: false, balance: "0", approx_local_messages: [0, 0] },
        additional_rate_limits: [
          {
            limit_name: "GPT-5.3-Codex-Spark",
            metered_feature: "codex_bengalfox",
            rate_limit: { primary_window: { used_percent: 70, limit_window_seconds: 17990 }, secondary_window: null },
          },
          "junk",
        ],
        rate_limit_reset_credits: { available_count: 1 },
      },
      NOW,
    )
    expect(q.source).toBe("usage")
    expect(q.limitReached).toBe(false)
    expect(q.fiveHour).toEqual(expect.objectContaining({ usedPercent: 3, windowMinutes: 300, resetsAt: NOW + 100_000 }))
    expect(q.weekly).toEqual(expect.objectContaining({ usedPercent: 40, windowMinutes: 10080, resetsAt: NOW + 9000 }))
    expect(q.additional.map((n) => [n.name, n.fiveHour?.usedPercent])).toEqual([["GPT-5.3-Codex-Spark", 70]])
  })

  test("a Free account with weekly in primary and a null secondary; a model-keyed map", () => {
    const q = quotaFromUsage(
      {
        plan_type: "free",
        rate_limit: {
          allowed: false,
          limit_reached: true,
          primary_window: { used_percent: 100, limit_window_seconds: 604800, reset_at: NOW_S + 5000 },
          secondary_window: null,
        },
        additional_rate_limits: {
          "gpt-x": { rate_limit: { primary_window: { used_percent: 1, limit_window_seconds: 3600 } } },
        },
      },
      NOW,
    )
    expect(q.fiveHour).toBeUndefined()
    expect(q.weekly?.usedPercent).toBe(100)
    expect(q.limitReached).toBe(true)
    expect(exhaustedUntil(q)).toBe(NOW + 5_000_000)
    expect(q.additional[0]?.other[0]?.windowMinutes).toBe(60)
  })

  test("an unreadable body is an empty reading", () => {
    for (const junk of [null, 5, "x", { rate_limit: "x", additional_rate_limits: 4 }]) {
      const q = quotaFromUsage(junk, NOW)
      expect(q.fiveHour).toBeUndefined()
      expect(q.additional).toEqual([])
    }
  })
})

describe("mergeQuota", () => {
  const older = quotaFromUsage(
    {
      plan_type: "plus",
      rate_limit: {
        primary_window: { used_percent: 90, limit_window_seconds: 18000, reset_at: NOW_S + 10 },
        secondary_window: { used_percent: 50, limit_window_seconds: 604800, reset_at: NOW_S + 100_000 },
      },
    },
    NOW,
  )
  const reading = (headers: Record<string, string>, at: number) => {
    const q = quotaFromHeaders(headers, at)
    if (q === undefined) throw new Error("expected a reading")
    return q
  }

  test("a newer reading that states the main family replaces its windows; the plan carries over", () => {
    const newer = reading(
      { "x-codex-secondary-used-percent": "55", "x-codex-secondary-window-minutes": "10080" },
      NOW + 60_000,
    )
    const merged = mergeQuota(older, newer)
    expect(merged.observedAt).toBe(NOW + 60_000)
    expect(merged.weekly?.usedPercent).toBe(55)
    expect(merged.fiveHour).toBeUndefined()
    expect(merged.planType).toBe("plus")
    // argument order does not matter
    expect(mergeQuota(newer, older)).toEqual(merged)
    expect(mergeQuota(undefined, newer)).toBe(newer)
  })

  test("a reading that says nothing about the main family keeps the windows that have not reset", () => {
    const credits = reading(
      { "x-codex-credits-has-credits": "true", "x-codex-credits-unlimited": "false" },
      NOW + 60_000,
    )
    const merged = mergeQuota(older, credits)
    expect(merged.fiveHour).toBeUndefined() // reset at NOW+10s, before the newer reading
    expect(merged.weekly?.usedPercent).toBe(50)
    expect(merged.credits?.hasCredits).toBe(true)
  })
})
