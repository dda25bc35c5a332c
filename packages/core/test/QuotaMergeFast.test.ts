/**
 * `mergeQuota` answers the common case (the newer reading has every field the older one has) without
 * rebuilding the snapshot. Oracle: the same merge forced down the general path by an extra older window
 * that has already reset, which the general path drops.
 */
import { describe, expect, test } from "bun:test"
import { mergeQuota, QuotaSnapshot, QuotaWindow, quotaFromHeaders } from "@cortexkit/openai-auth-core/Quota"
import fc from "fast-check"

const NOW = 1_780_000_000_000

const headerSet = fc.record(
  {
    "x-codex-primary-used-percent": fc.integer({ min: 0, max: 100 }).map(String),
    "x-codex-primary-window-minutes": fc.constantFrom("300", "10080", "60"),
    "x-codex-primary-reset-at": fc.integer({ min: -100, max: 100_000 }).map((s) => String(NOW / 1000 + s)),
    "x-codex-secondary-used-percent": fc.integer({ min: 0, max: 100 }).map(String),
    "x-codex-secondary-window-minutes": fc.constantFrom("10080", "300"),
    "x-codex-credits-has-credits": fc.constantFrom("True", "False"),
    "x-codex-plan-type": fc.constantFrom("plus", "pro"),
    "x-codex-active-limit": fc.constantFrom("codex", "other"),
    "x-codex-gpt-x-primary-used-percent": fc.integer({ min: 0, max: 100 }).map(String),
  },
  { requiredKeys: [] },
)

const withResetWindow = (s: QuotaSnapshot, at: number) =>
  new QuotaSnapshot({
    ...s,
    otherWindows: [...s.otherWindows, new QuotaWindow({ usedPercent: 1, windowMinutes: 7, resetsAt: at - 1 })],
  })

/** the merge through the general path: the older reading (as `mergeQuota` orders them) gets the reset window */
const generalMerge = (x: QuotaSnapshot, y: QuotaSnapshot) => {
  const at = Math.max(x.observedAt, y.observedAt)
  return x.observedAt > y.observedAt ? mergeQuota(x, withResetWindow(y, at)) : mergeQuota(withResetWindow(x, at), y)
}

describe("mergeQuota fast path", () => {
  test("gives what the general merge gives, for any two header readings in either order", () => {
    fc.assert(
      fc.property(headerSet, headerSet, fc.integer({ min: 0, max: 600_000 }), (h1, h2, dt) => {
        const a = quotaFromHeaders(h1, NOW)
        const b = quotaFromHeaders(h2, NOW + dt)
        if (a === undefined || b === undefined) return
        expect(mergeQuota(a, b)).toEqual(generalMerge(a, b))
        expect(mergeQuota(b, a)).toEqual(generalMerge(b, a))
      }),
      { numRuns: 2000 },
    )
  })

  test("a reading with the same fields as the last one is taken as it is", () => {
    const headers = { "x-codex-primary-used-percent": "10", "x-codex-secondary-used-percent": "20" }
    const first = quotaFromHeaders(headers, NOW)
    const second = quotaFromHeaders(headers, NOW + 1000)
    if (first === undefined || second === undefined) throw new Error("expected readings")
    expect(mergeQuota(first, second)).toBe(second)
    expect(mergeQuota(second, first)).toBe(second)
  })
})
