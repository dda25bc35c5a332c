import { describe, expect, test } from "bun:test"
import { QuotaSnapshot, QuotaWindow } from "@cortexkit/openai-auth-core/Quota"
import fc from "fast-check"
import {
  killswitchGate,
  MAIN,
  orderAccounts,
  parseThresholds,
  type RoutingAccount,
  type RoutingPolicy,
  selectAccounts,
} from "../src/Routing.ts"

const NOW = 1_800_000_000_000
const HOUR = 3_600_000

const quota = (fiveHourUsed: number, weeklyUsed: number, resetsIn = HOUR) =>
  QuotaSnapshot.make({
    observedAt: NOW,
    source: "headers",
    fiveHour: QuotaWindow.make({ usedPercent: fiveHourUsed, windowMinutes: 300, resetsAt: NOW + resetsIn }),
    weekly: QuotaWindow.make({ usedPercent: weeklyUsed, windowMinutes: 10080, resetsAt: NOW + 100 * HOUR }),
    otherWindows: [],
    additional: [],
  })

const account = (key: string, extra: Partial<RoutingAccount> = {}): RoutingAccount => ({
  key,
  needsRelogin: false,
  ...extra,
})

const policy = (extra: Partial<RoutingPolicy> = {}): RoutingPolicy => ({
  mode: "main-first",
  killswitch: { enabled: false, thresholds: {} },
  ...extra,
})

const keys = (list: ReadonlyArray<RoutingAccount>) => list.map((a) => a.key)

describe("Routing order", () => {
  const accounts = [account("a"), account(MAIN), account("b")]

  test("main-first puts main before the fallbacks, which keep their stored order", () => {
    expect(keys(orderAccounts(accounts, { mode: "main-first" }))).toEqual(["main", "a", "b"])
  })

  test("fallback-first puts the fallbacks first and main last", () => {
    expect(keys(orderAccounts(accounts, { mode: "fallback-first" }))).toEqual(["a", "b", "main"])
  })

  test("a switch target goes first without dropping anyone", () => {
    expect(keys(orderAccounts(accounts, { mode: "main-first", active: "b" }))).toEqual(["b", "main", "a"])
    expect(keys(orderAccounts(accounts, { mode: "main-first", active: "gone" }))).toEqual(["main", "a", "b"])
  })
})

describe("Routing gates", () => {
  test("skips an account that needs a re-login", () => {
    const s = selectAccounts([account(MAIN, { needsRelogin: true }), account("a")], policy(), NOW)
    expect(keys(s.candidates)).toEqual(["a"])
    expect(s.skipped[0]?.reason).toEqual({ _tag: "NeedsRelogin" })
  })

  test("skips an exhausted account until its reset, then uses it again", () => {
    const accounts = [account(MAIN, { exhaustedUntil: NOW + HOUR }), account("a")]
    expect(keys(selectAccounts(accounts, policy(), NOW).candidates)).toEqual(["a"])
    expect(keys(selectAccounts(accounts, policy(), NOW + HOUR).candidates)).toEqual(["main", "a"])
  })

  test("killswitch off never blocks, even at 100% used", () => {
    const s = selectAccounts([account(MAIN, { quota: quota(100, 100) })], policy(), NOW)
    expect(keys(s.candidates)).toEqual(["main"])
  })

  test("killswitch on blocks below the 5h or the weekly threshold", () => {
    const ks = { enabled: true, thresholds: { main: { fiveHour: 5, weekly: 10 } } }
    const gate5h = killswitchGate(account(MAIN, { quota: quota(96, 10) }), ks, NOW)
    expect(gate5h).toMatchObject({ window: "fiveHour", remainingPercent: 4, threshold: 5 })
    const gateWeek = killswitchGate(account(MAIN, { quota: quota(10, 91) }), ks, NOW)
    expect(gateWeek).toMatchObject({ window: "weekly", threshold: 10 })
    expect(killswitchGate(account(MAIN, { quota: quota(94, 89) }), ks, NOW)).toBeUndefined()
  })

  test("unknown quota fails open, and so does a reading whose window already reset", () => {
    const ks = { enabled: true, thresholds: { "*": { fiveHour: 50, weekly: 50 } } }
    expect(killswitchGate(account(MAIN), ks, NOW)).toBeUndefined()
    const stale = account(MAIN, { quota: quota(99, 10, -1) })
    expect(killswitchGate(stale, ks, NOW)).toBeUndefined()
  })

  test("a `*` threshold applies to accounts without their own", () => {
    const ks = { enabled: true, thresholds: { "*": { fiveHour: 20, weekly: 0 }, a: { fiveHour: 0, weekly: 0 } } }
    const s = selectAccounts(
      [account(MAIN, { quota: quota(90, 0) }), account("a", { quota: quota(90, 0) })],
      policy({ killswitch: ks }),
      NOW,
    )
    expect(keys(s.candidates)).toEqual(["a"])
  })

  test("when everything is gated, retryAt is the earliest reset", () => {
    const ks = { enabled: true, thresholds: { "*": { fiveHour: 5, weekly: 5 } } }
    const s = selectAccounts(
      [
        account(MAIN, { exhaustedUntil: NOW + 3 * HOUR }),
        account("a", { quota: quota(99, 0, 2 * HOUR) }),
        account("b", { needsRelogin: true }),
      ],
      policy({ killswitch: ks }),
      NOW,
    )
    expect(s.candidates).toHaveLength(0)
    expect(s.retryAt).toBe(NOW + 2 * HOUR)
  })

  test("every account is either a candidate or skipped, exactly once (property)", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            relogin: fc.boolean(),
            exhaustedIn: fc.option(fc.integer({ min: -HOUR, max: HOUR })),
            used: fc.option(fc.tuple(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }))),
          }),
          { maxLength: 6 },
        ),
        fc.constantFrom("main-first" as const, "fallback-first" as const),
        fc.boolean(),
        (specs, mode, enabled) => {
          const accounts = specs.map((s, i) =>
            account(i === 0 ? MAIN : `acct${i}`, {
              needsRelogin: s.relogin,
              exhaustedUntil: s.exhaustedIn === null ? undefined : NOW + s.exhaustedIn,
              quota: s.used === null ? undefined : quota(s.used[0], s.used[1]),
            }),
          )
          const s = selectAccounts(
            accounts,
            policy({ mode, killswitch: { enabled, thresholds: { "*": { fiveHour: 10, weekly: 10 } } } }),
            NOW,
          )
          const seen = [...keys(s.candidates), ...s.skipped.map((x) => x.account.key)].sort()
          expect(seen).toEqual(keys(accounts).sort())
          for (const c of s.candidates) expect(c.needsRelogin).toBe(false)
        },
      ),
    )
  })
})

describe("parseThresholds", () => {
  test("parses several entries", () => {
    expect(parseThresholds(["main:5,10", "work-alt:2.5,0"])).toEqual({
      ok: true,
      value: { main: { fiveHour: 5, weekly: 10 }, "work-alt": { fiveHour: 2.5, weekly: 0 } },
    })
  })

  test("names the malformed entry", () => {
    const bad = parseThresholds(["main:5"])
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.error).toContain('"main:5"')
    expect(parseThresholds(["main:500,1"]).ok).toBe(false)
    expect(parseThresholds([]).ok).toBe(false)
  })
})
