/**
 * `mergeQuota`'s laws, for any two header readings in either order (property), and its fast path: a reading
 * that states everything the older one had is taken as it is, without rebuilding the snapshot.
 */
import { describe, expect, test } from "bun:test"
import { mergeQuota, type QuotaSnapshot, quotaFromHeaders, statesMain } from "@cortexkit/openai-auth-core/Quota"
import fc from "fast-check"

const NOW = 1_780_000_000_000

const headerSet = fc.record(
  {
    "x-codex-primary-used-percent": fc.oneof(fc.integer({ min: 0, max: 100 }).map(String), fc.constant("junk")),
    "x-codex-primary-window-minutes": fc.constantFrom("300", "10080", "60", "0"),
    "x-codex-primary-reset-at": fc.integer({ min: -100, max: 100_000 }).map((s) => String(NOW / 1000 + s)),
    "x-codex-secondary-used-percent": fc.constantFrom("0", "20", "100"),
    "x-codex-secondary-window-minutes": fc.constantFrom("10080", "300", "0"),
    "x-codex-credits-has-credits": fc.constantFrom("True", "False", "1"),
    "x-codex-credits-unlimited": fc.constantFrom("False", "0"),
    "x-codex-plan-type": fc.constantFrom("plus", "pro"),
    "x-codex-active-limit": fc.constantFrom("codex", "other"),
    "x-codex-gpt-x-primary-used-percent": fc.integer({ min: 0, max: 100 }).map(String),
  },
  { requiredKeys: [] },
)

const mainOf = (s: QuotaSnapshot) => ({ fiveHour: s.fiveHour, weekly: s.weekly, other: s.otherWindows })
const live = (s: QuotaSnapshot, at: number) => {
  const fresh = <W extends { resetsAt?: number | undefined }>(w: W | undefined) =>
    w !== undefined && (w.resetsAt === undefined || w.resetsAt > at) ? w : undefined
  return { fiveHour: fresh(s.fiveHour), weekly: fresh(s.weekly), other: s.otherWindows.filter((w) => fresh(w)) }
}

describe("mergeQuota", () => {
  test("laws, for any two header readings in either order", () => {
    fc.assert(
      fc.property(headerSet, headerSet, fc.integer({ min: 0, max: 600_000 }), (h1, h2, dt) => {
        const older = quotaFromHeaders(h1, NOW)
        const newer = quotaFromHeaders(h2, NOW + dt + 1)
        if (older === undefined || newer === undefined) return
        const merged = mergeQuota(older, newer)
        expect(mergeQuota(newer, older)).toEqual(merged)
        expect(merged.observedAt).toBe(newer.observedAt)
        // the main family: the newer reading's when it states it, else what of the older has not reset
        expect(mainOf(merged)).toEqual(statesMain(newer) ? mainOf(newer) : live(older, newer.observedAt))
        expect(merged.planType).toBe(newer.planType ?? older.planType)
        expect(merged.credits).toEqual(newer.credits ?? older.credits)
        expect(merged.activeLimit).toBe(newer.activeLimit ?? older.activeLimit)
        // a named limit the newer reading has is the newer one's
        for (const n of newer.additional) expect(merged.additional.find((m) => m.name === n.name)).toEqual(n)
        // merging again changes nothing
        expect(mergeQuota(merged, newer)).toEqual(merged)
      }),
      { numRuns: 800 },
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
