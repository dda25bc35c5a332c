/**
 * The simulator's quota renderings keep the live shapes (sources in SimQuota.ts): the retired marker for a slot
 * a plan does not have, `null` windows in JSON, credit flags as words or digits, and the WebSocket error frame
 * with `status_code`, printed header names and whole numbers as JSON numbers.
 */
import { describe, expect, test } from "bun:test"
import { quotaHeaders, rateLimitsFrame, usageBody, wsErrorFrame } from "../src/SimQuota.ts"
import { defaultQuota } from "../src/SimState.ts"

const NOW = 1_781_000_000_000
const NOW_S = NOW / 1000

describe("SimQuota", () => {
  test("a retired slot: the zero marker in headers, null in the frame and in wham/usage", () => {
    const free = { ...defaultQuota, primaryWindowMinutes: 10080, secondaryWindowMinutes: 0 }
    const h = quotaHeaders(free, "free", NOW)
    expect(h).toMatchObject({
      "x-codex-primary-window-minutes": "10080",
      "x-codex-secondary-used-percent": "0",
      "x-codex-secondary-window-minutes": "0",
      "x-codex-secondary-reset-after-seconds": "0",
      "x-codex-secondary-reset-at": "",
    })
    expect(rateLimitsFrame(free, "free", NOW).rate_limits.secondary).toBeNull()
    expect(usageBody(free, "free", NOW).rate_limit.secondary_window).toBeNull()
  })

  test("credit flags as Python words by default, 1/0 when asked", () => {
    expect(quotaHeaders({ ...defaultQuota, hasCredits: true }, "plus", NOW)["x-codex-credits-has-credits"]).toBe("True")
    const digits = quotaHeaders({ ...defaultQuota, hasCredits: true, creditFlags: "digits" }, "plus", NOW)
    expect([digits["x-codex-credits-has-credits"], digits["x-codex-credits-unlimited"]]).toEqual(["1", "0"])
  })

  test("the WebSocket error frame: status_code, printed names, whole numbers as numbers", () => {
    const frame = wsErrorFrame(429, { type: "usage_limit_reached" }, quotaHeaders(defaultQuota, "plus", NOW))
    expect(frame).toMatchObject({ type: "error", status_code: 429, error: { type: "usage_limit_reached" } })
    expect(frame.headers).toMatchObject({
      "X-Codex-Primary-Used-Percent": "0",
      "X-Codex-Primary-Window-Minutes": 300,
      "X-Codex-Primary-Reset-At": NOW_S + 18000,
      "X-Codex-Credits-Has-Credits": "False",
      "X-Codex-Plan-Type": "plus",
    })
  })
})
