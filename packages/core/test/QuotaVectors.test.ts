/**
 * Quota parsing and combining, against vectors ported (rewritten, with our own values) from the public test
 * suites of other implementations. Each test names its source: repository, file and test. Where the sources
 * disagree the seed (cortexkit/openai-auth) decides, then codex-rs; such cases are marked "(disagreement)"
 * and listed in docs/protocol.md.
 */
import { describe, expect, test } from "bun:test"
import {
  mergeQuota,
  QuotaSnapshot,
  quotaFromHeaders,
  quotaFromRateLimitsFrame,
  quotaFromUsage,
} from "@cortexkit/openai-auth-core/Quota"
import { Schema } from "effect"

const NOW = 1_781_000_000_000
const NOW_S = NOW / 1000

const headers = (h: Record<string, unknown>, at = NOW) => quotaFromHeaders(h, at)
const frame = (body: Record<string, unknown>, at = NOW) =>
  quotaFromRateLimitsFrame({ type: "codex.rate_limits", ...body }, at)
const isSnapshot = Schema.is(QuotaSnapshot)
const encodeSnapshot = Schema.encodeUnknownSync(QuotaSnapshot)
/** a reading, which the readers build as plain values: it must be what the schema accepts (the store encodes it) */
const must = (q: QuotaSnapshot | undefined): QuotaSnapshot => {
  if (q === undefined) throw new Error("expected a reading")
  expect(isSnapshot(q)).toBe(true)
  expect(encodeSnapshot(q)).toEqual(q)
  return q
}

describe("headers: openai/codex codex-rs/codex-api/src/rate_limits.rs", () => {
  // rate_limits.rs `parse_rate_limit_for_limit_defaults_to_codex_headers`
  test("the default family: percentage, length and unix-seconds reset", () => {
    const q = must(
      headers({
        "x-codex-primary-used-percent": "37.5",
        "x-codex-primary-window-minutes": "60",
        "x-codex-primary-reset-at": String(NOW_S + 4000),
      }),
    )
    expect(q.otherWindows).toEqual([expect.objectContaining({ usedPercent: 37.5, windowMinutes: 60 })])
    expect(q.otherWindows[0]?.resetsAt).toBe(NOW + 4_000_000)
    expect(q.additional).toEqual([])
  })

  // rate_limits.rs `parse_rate_limit_for_limit_reads_secondary_headers`
  test("a family named `secondary` is its own limit, not the secondary slot", () => {
    const q = must(
      headers({
        "x-codex-secondary-primary-used-percent": "64",
        "x-codex-secondary-primary-window-minutes": "1440",
        "x-codex-secondary-primary-reset-at": String(NOW_S + 10),
      }),
    )
    expect(q.weekly).toBeUndefined()
    expect(q.additional).toHaveLength(1)
    expect(q.additional[0]?.name).toBe("secondary")
    expect(q.additional[0]?.other[0]).toEqual(expect.objectContaining({ usedPercent: 64, windowMinutes: 1440 }))
  })

  // rate_limits.rs `parse_rate_limit_for_limit_prefers_limit_name_header`
  test("a family's `-limit-name` header names it", () => {
    const q = must(
      headers({
        "x-codex-bengalfox-primary-used-percent": "12",
        "x-codex-bengalfox-limit-name": "gpt-5.3-codex-spark",
      }),
    )
    expect(q.additional.map((n) => n.name)).toEqual(["gpt-5.3-codex-spark"])
  })

  // rate_limits.rs `parse_rate_limit_updates_reads_all_limit_families`
  test("every family in one response is read", () => {
    const q = must(
      headers({
        "x-codex-primary-used-percent": "3",
        "x-codex-primary-window-minutes": "300",
        "x-codex-other-primary-used-percent": "90",
        "x-codex-other-primary-window-minutes": "300",
      }),
    )
    expect(q.fiveHour?.usedPercent).toBe(3)
    expect(q.additional.map((n) => [n.name, n.fiveHour?.usedPercent])).toEqual([["other", 90]])
  })

  // rate_limits.rs `parse_rate_limit_updates_includes_default_codex_snapshot` (disagreement: codex-rs emits an
  // empty default snapshot; an empty reading would record nothing here, so none is made)
  test("no quota headers: no reading", () => {
    expect(headers({ "content-type": "text/event-stream" })).toBeUndefined()
  })

  // rate_limits.rs `parse_header_bool` (the source, no test there): `1`/`0` besides true/false in any case
  test("credit flags as 1/0 and as True/False", () => {
    const digits = must(
      headers({
        "x-codex-credits-has-credits": "1",
        "x-codex-credits-unlimited": "0",
        "x-codex-credits-balance": " 9 ",
      }),
    )
    expect(digits.credits).toEqual(expect.objectContaining({ hasCredits: true, unlimited: false, balance: "9" }))
    const words = must(headers({ "x-codex-credits-has-credits": "FALSE", "x-codex-credits-unlimited": "True" }))
    expect(words.credits).toEqual(expect.objectContaining({ hasCredits: false, unlimited: true }))
    expect(words.credits?.balance).toBeUndefined()
  })

  // rate_limits.rs `parse_credits_snapshot`: both flags or no credits
  test("credits need both flags", () => {
    expect(headers({ "x-codex-credits-has-credits": "true" })).toBeUndefined()
    expect(headers({ "x-codex-credits-has-credits": "yes", "x-codex-credits-unlimited": "false" })).toBeUndefined()
  })
})

describe("headers: cortexkit/openai-auth packages/opencode/src/tests/quota-normalize.test.ts (the seed)", () => {
  // quota-normalize.test.ts "HTTP x-codex-* headers (minutes)"
  test("a Plus response: 5h and weekly, resets in unix seconds", () => {
    const q = must(
      headers({
        "x-codex-primary-used-percent": "14",
        "x-codex-primary-window-minutes": "300",
        "x-codex-primary-reset-at": String(NOW_S + 900),
        "x-codex-secondary-used-percent": "88",
        "x-codex-secondary-window-minutes": "10080",
        "x-codex-secondary-reset-at": String(NOW_S + 90_000),
      }),
    )
    expect([q.fiveHour?.usedPercent, q.fiveHour?.resetsAt]).toEqual([14, NOW + 900_000])
    expect([q.weekly?.usedPercent, q.weekly?.resetsAt]).toEqual([88, NOW + 90_000_000])
  })

  // quota-normalize.test.ts "HTTP headers: missing optional fields → undefined in snapshot"
  test("a bare percentage is a window of the slot's usual length without a reset", () => {
    const q = must(headers({ "x-codex-primary-used-percent": "61" }))
    expect(q.fiveHour).toEqual(expect.objectContaining({ usedPercent: 61, windowMinutes: 300 }))
    expect(q.fiveHour?.resetsAt).toBeUndefined()
    expect(q.weekly).toBeUndefined()
  })

  // quota-normalize.test.ts "HTTP headers: malformed used-percent values invalidate the frame"
  for (const bad of ["  ", "NaN-ish", "-2", "100.5"])
    test(`a used percentage of ${JSON.stringify(bad)} makes the reading say nothing`, () => {
      expect(
        headers({ "x-codex-primary-used-percent": bad, "x-codex-primary-reset-at": String(NOW_S) }),
      ).toBeUndefined()
    })

  // quota-normalize.test.ts "HTTP headers: one malformed slot invalidates an otherwise valid frame"
  test("one malformed slot invalidates its sibling too", () => {
    expect(headers({ "x-codex-primary-used-percent": "n/a", "x-codex-secondary-used-percent": "5" })).toBeUndefined()
  })

  // quota-normalize.test.ts "HTTP headers: an explicit retired-slot marker is a complete empty frame"
  test("the retired marker retires the main family", () => {
    const q = must(headers({ "x-codex-primary-used-percent": "0", "x-codex-primary-window-minutes": "0" }))
    expect(q.fiveHour).toBeUndefined()
    expect(q.mainRetired).toBe(true)
  })

  // quota-normalize.test.ts "header: a zero-placeholder secondary (gone window) normalizes as absent"
  test("a Team account's live headers: weekly in primary, the secondary retired", () => {
    const q = must(
      headers({
        "x-codex-active-limit": "premium",
        "x-codex-plan-type": "team",
        "x-codex-primary-used-percent": "0",
        "x-codex-primary-window-minutes": "10080",
        "x-codex-primary-reset-after-seconds": "604800",
        "x-codex-primary-reset-at": String(NOW_S + 604_800),
        "x-codex-secondary-used-percent": "0",
        "x-codex-secondary-window-minutes": "0",
        "x-codex-secondary-reset-after-seconds": "0",
        "x-codex-secondary-reset-at": "",
      }),
    )
    expect(q.weekly).toEqual(expect.objectContaining({ usedPercent: 0, windowMinutes: 10080 }))
    expect(q.fiveHour).toBeUndefined()
    expect(q.otherWindows).toEqual([])
    expect(q.mainRetired).toBeUndefined()
    expect([q.planType, q.activeLimit]).toEqual(["team", "premium"])
  })

  // quota-normalize.test.ts "header: a 0%-used window without optional metadata stays present"
  // (disagreement: codex-rs `parse_rate_limit_window` drops a window with no data; the seed keeps it)
  test("0 % with nothing else is a window", () => {
    expect(must(headers({ "x-codex-secondary-used-percent": "0" })).weekly?.usedPercent).toBe(0)
  })

  // quota-normalize.test.ts "header: a real 0%-used window with a positive length and a reset stays present"
  test("0 % with a length and a reset is a window", () => {
    const q = must(
      headers({
        "x-codex-secondary-used-percent": "0",
        "x-codex-secondary-window-minutes": "10080",
        "x-codex-secondary-reset-at": String(NOW_S + 5),
      }),
    )
    expect(q.weekly?.windowMinutes).toBe(10080)
  })

  // quota-normalize.test.ts "omits invalid window lengths and reset-credit counts" (header part)
  test("a used window with a 0-minute length keeps its percentage; the slot's usual length stands in", () => {
    const q = must(headers({ "x-codex-primary-used-percent": "20", "x-codex-primary-window-minutes": "0" }))
    expect(q.fiveHour).toEqual(expect.objectContaining({ usedPercent: 20, windowMinutes: 300 }))
  })

  // quota-normalize.test.ts "out-of-range used_percent values are treated as undefined/absent" (headers)
  // (disagreement: codex-rs takes any finite percentage)
  test("out-of-range percentages are not readings", () => {
    for (const bad of ["-10", "110", "NaN"]) expect(headers({ "x-codex-primary-used-percent": bad })).toBeUndefined()
  })
})

describe("headers: lengths and numbers (issue 13; codex-rs responses_websocket.rs)", () => {
  // codex-rs codex-api/src/endpoint/responses_websocket.rs `parse_wrapped_websocket_error_event_maps_to_transport_http`:
  // a WebSocket error frame's headers carry numbers as JSON numbers
  test("JSON numbers in a WebSocket error frame's headers are read like their text", () => {
    const q = must(
      headers({
        "X-Codex-Primary-Used-Percent": "100.0",
        "X-Codex-Primary-Window-Minutes": 15,
        "X-Codex-Primary-Reset-At": NOW_S + 30,
        "X-Codex-Credits-Has-Credits": false,
        "X-Codex-Credits-Unlimited": 0,
      }),
    )
    expect(q.otherWindows[0]).toEqual(
      expect.objectContaining({ usedPercent: 100, windowMinutes: 15, resetsAt: NOW + 30_000 }),
    )
    expect(q.credits).toEqual(expect.objectContaining({ hasCredits: false, unlimited: false }))
  })

  // issue 13 "negative or absurd window lengths ignored" (codex-rs parses lengths as i64 and keeps the window)
  test("negative and absurd lengths give way to the slot's usual length", () => {
    for (const minutes of ["-300", "99999999", "1e9"]) {
      const q = must(headers({ "x-codex-secondary-used-percent": "40", "x-codex-secondary-window-minutes": minutes }))
      expect(q.weekly?.windowMinutes).toBe(10080)
    }
  })

  // cortexkit/openai-auth quota-normalize.test.ts describe "toResetIso" "already ISO string → ISO (passthrough)"
  test("a reset time may be an ISO date; junk and empty are absent", () => {
    const iso = new Date(NOW + 7_000).toISOString()
    expect(
      must(headers({ "x-codex-primary-used-percent": "1", "x-codex-primary-reset-at": iso })).fiveHour?.resetsAt,
    ).toBe(NOW + 7_000)
    for (const junk of ["", "soon", "-5", "0"])
      expect(
        must(headers({ "x-codex-primary-used-percent": "1", "x-codex-primary-reset-at": junk })).fiveHour?.resetsAt,
      ).toBeUndefined()
  })

  // cortexkit/openai-auth quota-normalize.test.ts describe "toResetIso" "ms timestamp → ISO"
  test("a reset time in epoch milliseconds is taken as such", () => {
    const q = must(headers({ "x-codex-primary-used-percent": "1", "x-codex-primary-reset-at": String(NOW + 9) }))
    expect(q.fiveHour?.resetsAt).toBe(NOW + 9)
  })
})

describe("the codex.rate_limits frame", () => {
  // cortexkit/openai-auth quota-normalize.test.ts "WS codex.rate_limits frame (minutes)": reset_at as text
  test("minutes and reset times sent as strings", () => {
    const q = must(
      frame({
        plan_type: "plus",
        rate_limits: {
          primary: { used_percent: 31, window_minutes: 300, reset_at: String(NOW_S + 60) },
          secondary: { used_percent: 8, window_minutes: 10080, reset_at: String(NOW_S + 600) },
        },
      }),
    )
    expect([q.fiveHour?.usedPercent, q.fiveHour?.resetsAt]).toEqual([31, NOW + 60_000])
    expect([q.weekly?.usedPercent, q.weekly?.resetsAt]).toEqual([8, NOW + 600_000])
  })

  // cortexkit/openai-auth quota-normalize.test.ts "WS frame: real object-shaped additional_rate_limits does not
  // crash and is ignored" (disagreement: the seed drops the per-model windows; issue 13 asks to read both shapes)
  test("the live model-keyed additional_rate_limits map is read as named limits", () => {
    const q = must(
      frame({
        plan_type: "pro",
        rate_limits: {
          allowed: true,
          limit_reached: false,
          primary: { used_percent: 22, window_minutes: 300, reset_after_seconds: 100, reset_at: NOW_S + 200 },
          secondary: { used_percent: 71, window_minutes: 10080, reset_at: NOW_S + 2000 },
        },
        code_review_rate_limits: null,
        additional_rate_limits: {
          "GPT-5.3-Codex-Spark": {
            allowed: true,
            limit_reached: false,
            primary: { used_percent: 4, window_minutes: 300, reset_at: NOW_S + 300 },
            secondary: { used_percent: 2, window_minutes: 10080, reset_at: NOW_S + 3000 },
          },
        },
      }),
    )
    // reset_at wins over reset_after_seconds, as codex-rs reads only reset_at
    expect(q.fiveHour?.resetsAt).toBe(NOW + 200_000)
    expect(q.weekly?.usedPercent).toBe(71)
    expect(q.additional.map((n) => [n.name, n.fiveHour?.usedPercent, n.weekly?.usedPercent])).toEqual([
      ["GPT-5.3-Codex-Spark", 4, 2],
    ])
  })

  // cortexkit/openai-auth quota-normalize.test.ts "WS frame: empty-object additional_rate_limits does not throw"
  test("an empty additional_rate_limits map is nothing", () => {
    const q = must(
      frame({ rate_limits: { primary: { used_percent: 1, window_minutes: 300 } }, additional_rate_limits: {} }),
    )
    expect(q.additional).toEqual([])
  })

  // cortexkit/openai-auth quota-normalize.test.ts "empty/missing rate_limits → empty snapshot"
  test("an empty rate_limits object says nothing", () => {
    expect(frame({ rate_limits: {} })).toBeUndefined()
  })

  // cortexkit/openai-auth quota-normalize.test.ts "out-of-range used_percent values are treated as undefined/absent"
  test("a frame window outside 0..100 % is dropped, its sibling kept", () => {
    const q = must(
      frame({
        rate_limits: {
          primary: { used_percent: -5, window_minutes: 300 },
          secondary: { used_percent: 12, window_minutes: 10080 },
        },
      }),
    )
    expect(q.fiveHour).toBeUndefined()
    expect(q.weekly?.usedPercent).toBe(12)
    expect(frame({ rate_limits: { primary: { used_percent: 105, window_minutes: 300 } } })).toBeUndefined()
  })

  // cortexkit/openai-auth quota-normalize.test.ts "omits invalid window lengths" (WS part: a non-finite length)
  test("an absurd frame length gives way to the slot's usual length", () => {
    const q = must(frame({ rate_limits: { primary: { used_percent: 20, window_minutes: 1e15 } } }))
    expect(q.fiveHour?.windowMinutes).toBe(300)
  })

  // codex-rs codex-api/src/rate_limits.rs `parse_rate_limit_event`: `metered_limit_name`, else `limit_name`,
  // names the family; `codex` is the default one
  test("a frame for another metered limit is a named limit; `codex` is the main family", () => {
    const other = must(
      frame({
        metered_limit_name: "codex_other",
        limit_name: "x",
        rate_limits: { primary: { used_percent: 9, window_minutes: 300 } },
      }),
    )
    expect(other.fiveHour).toBeUndefined()
    expect(other.additional.map((n) => n.name)).toEqual(["codex_other"])
    const main = must(
      frame({ limit_name: "CODEX", rate_limits: { primary: { used_percent: 9, window_minutes: 300 } } }),
    )
    expect(main.fiveHour?.usedPercent).toBe(9)
  })

  // issue 13 "a frame that retires every window clears them": null slots
  test("a frame whose every slot is null retires the main family", () => {
    const q = must(frame({ rate_limits: { primary: null, secondary: null } }))
    expect(q.mainRetired).toBe(true)
  })

  // codex-rs codex-api/src/rate_limits.rs `RateLimitEventCredits` (has_credits and unlimited both required)
  test("frame credits: JSON booleans, 1/0, and both flags required", () => {
    const q = must(frame({ credits: { has_credits: 1, unlimited: false, balance: 25 } }))
    expect(q.credits).toEqual(expect.objectContaining({ hasCredits: true, unlimited: false, balance: "25" }))
    expect(frame({ credits: { has_credits: true } })).toBeUndefined()
  })
})

describe("wham/usage", () => {
  // cortexkit/openai-auth quota-normalize.test.ts "wham/usage JSON (seconds)"
  test("window lengths in seconds", () => {
    const q = quotaFromUsage(
      {
        plan_type: "plus",
        rate_limit: {
          primary_window: { used_percent: 16, limit_window_seconds: 18000, reset_at: String(NOW_S + 1) },
          secondary_window: { used_percent: 93, limit_window_seconds: 604800, reset_at: String(NOW_S + 2) },
        },
      },
      NOW,
    )
    expect([q.fiveHour?.usedPercent, q.weekly?.usedPercent]).toEqual([16, 93])
  })

  // cortexkit/openai-auth quota-normalize.test.ts "wham carries a single 7-day primary window and reset credits"
  test("a single weekly window in primary and a null secondary", () => {
    const q = quotaFromUsage(
      {
        rate_limit: {
          primary_window: { used_percent: 27, limit_window_seconds: 604_800, reset_at: NOW_S + 77 },
          secondary_window: null,
        },
        rate_limit_reset_credits: { available_count: 4, applicable_available_count: 3 },
      },
      NOW,
    )
    expect(q.weekly).toEqual(expect.objectContaining({ usedPercent: 27, windowMinutes: 10080, resetsAt: NOW + 77_000 }))
    expect(q.fiveHour).toBeUndefined()
  })

  // cortexkit/openai-auth quota-normalize.test.ts "omits invalid window lengths" (wham part: -60 s)
  test("a negative length in seconds gives way to the slot's usual length", () => {
    const q = quotaFromUsage({ rate_limit: { primary_window: { used_percent: 20, limit_window_seconds: -60 } } }, NOW)
    expect(q.fiveHour?.windowMinutes).toBe(300)
  })

  // cortexkit/openai-auth quota-normalize.test.ts "wham: object-shaped additional_rate_limits does not crash and is
  // ignored" (disagreement, as for the frame: both shapes are read)
  test("a model-keyed map in wham/usage is read too", () => {
    const q = quotaFromUsage(
      {
        rate_limit: { primary_window: { used_percent: 1, limit_window_seconds: 18000 } },
        additional_rate_limits: {
          "GPT-5.3-Codex-Spark": { primary: { used_percent: 0, limit_window_seconds: 18000 } },
        },
      },
      NOW,
    )
    expect(q.additional.map((n) => [n.name, n.fiveHour?.usedPercent])).toEqual([["GPT-5.3-Codex-Spark", 0]])
  })

  // openai/codex codex-rs/codex-backend-openapi-models (rate_limit_status_payload.rs, additional_rate_limit_details):
  // the array shape, named by limit_name else metered_feature
  test("the additional_rate_limits array, named by limit_name or metered_feature", () => {
    const q = quotaFromUsage(
      {
        rate_limit: null,
        additional_rate_limits: [
          {
            metered_feature: "codex_bengalfox",
            rate_limit: { primary_window: { used_percent: 44, limit_window_seconds: 18000 } },
          },
          { limit_name: "Spark", rate_limit: { secondary_window: { used_percent: 5, limit_window_seconds: 604800 } } },
        ],
      },
      NOW,
    )
    expect(q.additional.map((n) => [n.name, n.fiveHour?.usedPercent ?? n.weekly?.usedPercent])).toEqual([
      ["codex_bengalfox", 44],
      ["Spark", 5],
    ])
  })

  // iam-brain/opencode-codex-auth test/codex-quota-fetch.test.ts "parses wham usage response into requests/tokens limits"
  test("windows and credits as iam-brain reads them", () => {
    const q = quotaFromUsage(
      {
        rate_limit: {
          primary_window: { used_percent: 35, limit_window_seconds: 18000, reset_at: NOW_S + 111 },
          secondary_window: { used_percent: 60, limit_window_seconds: 604800, reset_at: NOW_S + 222 },
        },
        credits: { has_credits: true, unlimited: false, balance: "7.25" },
      },
      NOW,
    )
    expect([q.fiveHour?.usedPercent, q.fiveHour?.resetsAt]).toEqual([35, NOW + 111_000])
    expect([q.weekly?.usedPercent, q.weekly?.resetsAt]).toEqual([60, NOW + 222_000])
    expect(q.credits).toEqual(expect.objectContaining({ hasCredits: true, unlimited: false, balance: "7.25" }))
  })

  // iam-brain/opencode-codex-auth test/codex-quota-fetch.test.ts "routes quota requests with ChatGPT-Account-Id
  // header…": a window with a reset but no length
  test("a window without a length is the slot's usual one", () => {
    const q = quotaFromUsage({ rate_limit: { primary_window: { used_percent: 50, reset_at: NOW_S + 3 } } }, NOW)
    expect(q.fiveHour).toEqual(expect.objectContaining({ usedPercent: 50, resetsAt: NOW + 3000 }))
  })

  // cortexkit/openai-auth quota-normalize.test.ts "out-of-range used_percent values are treated as undefined/absent" (wham)
  test("out-of-range wham percentages are dropped", () => {
    for (const used of [-1, 101])
      expect(
        quotaFromUsage({ rate_limit: { primary_window: { used_percent: used, limit_window_seconds: 18000 } } }, NOW)
          .fiveHour,
      ).toBeUndefined()
  })

  // docs/protocol.md §5.3 (limit_reached) with the usage body's retired windows
  test("limit_reached belongs to the main family; null windows retire it", () => {
    const q = quotaFromUsage(
      { rate_limit: { allowed: false, limit_reached: true, primary_window: null, secondary_window: null } },
      NOW,
    )
    expect(q.limitReached).toBe(true)
    expect(q.mainRetired).toBe(true)
  })
})

describe("combining readings", () => {
  const plus = (at: number, fiveHour: string, weekly: string) =>
    must(
      headers(
        {
          "x-codex-primary-used-percent": fiveHour,
          "x-codex-primary-window-minutes": "300",
          "x-codex-primary-reset-at": String(NOW_S + 18_000),
          "x-codex-secondary-used-percent": weekly,
          "x-codex-secondary-window-minutes": "10080",
          "x-codex-secondary-reset-at": String(NOW_S + 600_000),
          "x-codex-plan-type": "plus",
          "x-codex-credits-has-credits": "False",
          "x-codex-credits-unlimited": "False",
        },
        at,
      ),
    )

  // openai/codex codex-rs/core/src/state/session.rs `set_rate_limits_carries_credits_and_plan_type_from_codex_to_codex_other`
  test("credits and plan carry over to a newer reading without them", () => {
    const newer = must(
      headers({ "x-codex-primary-used-percent": "30", "x-codex-primary-window-minutes": "120" }, NOW + 1),
    )
    const merged = mergeQuota(plus(NOW, "10", "5"), newer)
    expect(merged.planType).toBe("plus")
    expect(merged.credits?.hasCredits).toBe(false)
    expect(merged.otherWindows.map((w) => w.usedPercent)).toEqual([30])
  })

  // openai/codex codex-rs/core/src/state/session.rs `merge_rate_limit_fields` (the snapshot is replaced, only
  // credits and plan carry over) — issue 13 "a newer reading replaces the windows of an older one"
  test("a newer reading replaces the older windows instead of keeping stale ones", () => {
    const newer = must(
      headers(
        {
          "x-codex-primary-used-percent": "2",
          "x-codex-primary-window-minutes": "10080",
          "x-codex-secondary-used-percent": "0",
          "x-codex-secondary-window-minutes": "0",
        },
        NOW + 1,
      ),
    )
    const merged = mergeQuota(plus(NOW, "70", "40"), newer)
    expect(merged.fiveHour).toBeUndefined()
    expect(merged.weekly?.usedPercent).toBe(2)
  })

  // cortexkit/openai-auth test quota-push.test.ts "conditional push: empty snapshot does NOT overwrite a valid cached one"
  test("a reading without main windows does not erase them", () => {
    const creditsOnly = must(
      headers({ "x-codex-credits-has-credits": "true", "x-codex-credits-unlimited": "false" }, NOW + 1),
    )
    const merged = mergeQuota(plus(NOW, "10", "20"), creditsOnly)
    expect([merged.fiveHour?.usedPercent, merged.weekly?.usedPercent]).toEqual([10, 20])
    const emptyPoll = quotaFromUsage({}, NOW + 2)
    expect(mergeQuota(merged, emptyPoll).fiveHour?.usedPercent).toBe(10)
  })

  // cortexkit/openai-auth quota-push.test.ts "malformed quota headers cannot erase a valid cached snapshot"
  test("malformed headers cannot erase a good reading", () => {
    const bad = headers({ "x-codex-primary-used-percent": "bad", "x-codex-plan-type": "plus" }, NOW + 1)
    expect(bad).toBeUndefined()
    const withCredits = must(
      headers(
        { "x-codex-primary-used-percent": "bad", "x-codex-credits-has-credits": "1", "x-codex-credits-unlimited": "0" },
        NOW + 1,
      ),
    )
    expect(mergeQuota(plus(NOW, "10", "20"), withCredits).fiveHour?.usedPercent).toBe(10)
  })

  // cortexkit/openai-auth quota-push.test.ts "conditional push: an explicit zero-window quota IS a real window and
  // overwrites the cache"
  test("an exhausted reading overwrites a healthy one", () => {
    const spent = must(headers({ "x-codex-primary-used-percent": "100" }, NOW + 1))
    const merged = mergeQuota(plus(NOW, "10", "20"), spent)
    expect(merged.fiveHour?.usedPercent).toBe(100)
    expect(merged.weekly).toBeUndefined()
  })

  // cortexkit/openai-auth quota-normalize.test.ts "an explicit retired-slot marker is a complete empty frame" with
  // quota-manager.ts `setMain(…, completeSnapshot)` — issue 13 "a frame that retires every window clears them"
  test("a reading that retires every window clears them", () => {
    const retired = must(
      headers(
        {
          "x-codex-primary-used-percent": "0",
          "x-codex-primary-window-minutes": "0",
          "x-codex-secondary-used-percent": "0",
          "x-codex-secondary-window-minutes": "0",
          "x-codex-secondary-reset-at": "",
        },
        NOW + 1,
      ),
    )
    const merged = mergeQuota(plus(NOW, "10", "20"), retired)
    expect([merged.fiveHour, merged.weekly, merged.otherWindows]).toEqual([undefined, undefined, []])
    expect(merged.mainRetired).toBe(true)
    expect(merged.planType).toBe("plus")
    // and a later reading with windows brings them back
    expect(mergeQuota(merged, plus(NOW + 2, "1", "2")).mainRetired).toBeUndefined()
  })

  // issue 13, same rule on the WebSocket frame
  test("a codex.rate_limits frame with null slots clears the windows of an earlier frame", () => {
    const first = must(
      frame({
        rate_limits: {
          primary: { used_percent: 50, window_minutes: 300 },
          secondary: { used_percent: 9, window_minutes: 10080 },
        },
      }),
    )
    const gone = must(frame({ rate_limits: { primary: null, secondary: null } }, NOW + 5))
    const merged = mergeQuota(first, gone)
    expect([merged.fiveHour, merged.weekly]).toEqual([undefined, undefined])
  })

  // docs/protocol.md §5.3 with session.rs semantics: limit_reached is the main family's and goes with it
  test("a newer header reading drops an older usage poll's limit_reached", () => {
    const poll = quotaFromUsage(
      { rate_limit: { limit_reached: true, primary_window: { used_percent: 100, limit_window_seconds: 18000 } } },
      NOW,
    )
    expect(poll.limitReached).toBe(true)
    expect(mergeQuota(poll, plus(NOW + 1, "0", "1")).limitReached).toBeUndefined()
  })
})
