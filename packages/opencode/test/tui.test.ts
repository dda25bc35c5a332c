import { describe, expect, test } from "bun:test"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { AccountView } from "@cortexkit/openai-auth-accounts/Format"
import { emptyState } from "@cortexkit/openai-auth-accounts/StateFile"
import { emptyDocument, type StoreDocument } from "@cortexkit/openai-auth-accounts/StoreSchema"
import { QuotaSnapshot, QuotaWindow } from "@cortexkit/openai-auth-core/Quota"
import { removeTuiMarker, tuiMarkerPath, tuiPresent, writeTuiMarker } from "../src/tui/Marker.ts"
import {
  activeKey,
  countdown,
  FIVE_HOUR_MS,
  formatPace,
  pace,
  quotaRows,
  sidebarModel,
  WEEKLY_MS,
} from "../src/tui/QuotaView.ts"
import { COMMAND_NAMES, dialogCommandName, matchSlashLine } from "../src/tui/Slash.ts"
import { watchFiles } from "../src/tui/Watch.ts"

const NOW = 1_800_000_000_000
const H = 3_600_000

const snapshot = (fiveHour?: Partial<QuotaWindow>, weekly?: Partial<QuotaWindow>, observedAt = NOW - 60_000) =>
  QuotaSnapshot.make({
    observedAt,
    source: "headers",
    otherWindows: [],
    additional: [],
    ...(fiveHour === undefined
      ? {}
      : { fiveHour: QuotaWindow.make({ usedPercent: 0, windowMinutes: 300, ...fiveHour }) }),
    ...(weekly === undefined ? {} : { weekly: QuotaWindow.make({ usedPercent: 0, windowMinutes: 10080, ...weekly }) }),
  })

const doc = (patch: Partial<StoreDocument>): StoreDocument => ({ ...emptyDocument(), ...patch })

describe("slash lines", () => {
  test("seven dialog command names", () => {
    expect(COMMAND_NAMES.map(dialogCommandName)).toEqual([
      "openai.quota.dialog",
      "openai.account.dialog",
      "openai.routing.dialog",
      "openai.killswitch.dialog",
      "openai.cachekeep.dialog",
      "openai.logging.dialog",
      "openai.dump.dialog",
    ])
  })

  test("bare and with arguments", () => {
    expect(matchSlashLine("/openai-routing")).toEqual({ _tag: "Bare", name: "routing" })
    expect(matchSlashLine("  /openai-quota   ")).toEqual({ _tag: "Bare", name: "quota" })
    expect(matchSlashLine("/openai-routing fallback-first")).toEqual({
      _tag: "WithArgs",
      name: "routing",
      args: ["fallback-first"],
    })
    expect(matchSlashLine("/openai-killswitch set main:5,10\n alt:5,10")).toEqual({
      _tag: "WithArgs",
      name: "killswitch",
      args: ["set", "main:5,10", "alt:5,10"],
    })
  })

  test("leaves everything else to the host", () => {
    expect(matchSlashLine("hello /openai-quota")).toBeUndefined()
    expect(matchSlashLine("/openai-nope x")).toBeUndefined()
    expect(matchSlashLine("/openai-routingx")).toBeUndefined()
    expect(matchSlashLine("/review")).toBeUndefined()
    // needs the server's login flow
    expect(matchSlashLine("/openai-account add work")).toBeUndefined()
    expect(matchSlashLine("/openai-account switch work")?._tag).toBe("WithArgs")
  })
})

describe("pacing", () => {
  test("half the window gone at 30% used projects 60%", () => {
    const p = pace(30, NOW + 2.5 * H, FIVE_HOUR_MS, NOW)
    expect(p?.elapsedFraction).toBeCloseTo(0.5)
    expect(p?.projectedPercent).toBeCloseTo(60)
    expect(p?.exhaustsInMs).toBeUndefined()
    expect(formatPace(p)).toBe("on pace for 60%")
  })

  test("running hot reports when 100% is reached", () => {
    // 1h of 5h gone, 40% used: 40%/h, 100% after 2.5h, i.e. 1.5h from now
    const p = pace(40, NOW + 4 * H, FIVE_HOUR_MS, NOW)
    expect(p?.projectedPercent).toBeCloseTo(200)
    expect(p?.exhaustsInMs).toBeCloseTo(1.5 * H)
    expect(formatPace(p)).toBe("on pace for 200%, out in ~1h 30m")
  })

  test("no projection without a reset, after it, or too early", () => {
    expect(pace(10, undefined, FIVE_HOUR_MS, NOW)).toBeUndefined()
    expect(pace(10, NOW - 1, FIVE_HOUR_MS, NOW)).toBeUndefined()
    expect(pace(10, NOW + FIVE_HOUR_MS - 60_000, FIVE_HOUR_MS, NOW)).toBeUndefined()
    // a reset further out than the window is clamped, not a negative elapsed time
    expect(pace(10, NOW + 2 * WEEKLY_MS, WEEKLY_MS, NOW)).toBeUndefined()
  })

  test("countdown", () => {
    expect(countdown(NOW + 2 * H + 5 * 60_000, NOW)).toBe("resets in 2h 05m")
    expect(countdown(NOW, NOW)).toBe("reset")
    expect(countdown(undefined, NOW)).toBe("-")
  })
})

describe("sidebar model", () => {
  const accounts = [
    {
      id: "acct_b",
      label: "work",
      access: undefined as never,
      refresh: undefined as never,
      expiresAt: 0,
      addedAt: 0,
      state: "active" as const,
    },
  ]

  test("hidden without a reading for the active account", () => {
    expect(sidebarModel(doc({}), emptyState, NOW)).toBeUndefined()
    expect(sidebarModel(doc({ quota: { acct_b: snapshot({ usedPercent: 5 }) } }), emptyState, NOW)).toBeUndefined()
  })

  test("the account that served last wins over the switch target", () => {
    const d = doc({ activeAccount: "main", accounts })
    expect(activeKey(d, emptyState)).toBe("main")
    expect(activeKey(d, { updatedAt: NOW, lastServed: { key: "acct_b", at: NOW } })).toBe("acct_b")
    expect(activeKey(doc({}), emptyState)).toBe("main")
  })

  test("both windows with countdown and pace", () => {
    const d = doc({
      accounts,
      quota: {
        acct_b: snapshot({ usedPercent: 40, resetsAt: NOW + 4 * H }, { usedPercent: 12.4, resetsAt: NOW + 84 * H }),
      },
    })
    const m = sidebarModel(d, { updatedAt: NOW, lastServed: { key: "acct_b", at: NOW } }, NOW)
    expect(m?.name).toBe("work")
    expect(m?.served).toBe(true)
    expect(m?.age).toBe("1m")
    expect(m?.windows.map((w) => [w.label, w.used, w.countdown, w.warn])).toEqual([
      ["5h", "40%", "resets in 4h 00m", true],
      ["weekly", "12%", "resets in 3d 12h", false],
    ])
    // weekly: half the week gone at 12.4% -> ~25%
    expect(m?.windows[1]?.pace).toBe("on pace for 25%")
  })
})

describe("quota rows", () => {
  test("every account with windows and state", () => {
    const views: Array<AccountView> = [
      {
        key: "main",
        kind: "main",
        active: true,
        state: "active",
        quotaKnown: true,
        plan: "plus",
        quota: {
          observedAt: NOW,
          source: "usage",
          fiveHour: { usedPercent: 43, resetsAt: NOW + 2 * H },
          weekly: { usedPercent: 10, resetsAt: NOW + 50 * H },
        },
      },
      { key: "acct_b", kind: "fallback", label: "work", active: false, state: "needs-relogin", quotaKnown: false },
    ]
    expect(quotaRows(views, NOW)).toEqual([
      {
        key: "main",
        title: "* main (plus)",
        description: "5h 43% (resets in 2h 00m) · weekly 10% (resets in 2d 2h) · active",
      },
      { key: "acct_b", title: "  work", description: "5h - · weekly - · needs re-login" },
    ])
  })
})

describe("pid marker", () => {
  test("written beside the store and removed", () => {
    const dir = mkdtempSync(join(tmpdir(), "tui-marker-"))
    try {
      const store = join(dir, "sub", "openai-auth.json")
      expect(tuiPresent(store, 4242)).toBe(false)
      expect(writeTuiMarker(store, 4242)).toBe(join(dir, "sub", "openai-auth-tui.4242"))
      expect(tuiPresent(store, 4242)).toBe(true)
      expect(tuiPresent(store, 4243)).toBe(false)
      removeTuiMarker(store, 4242)
      expect(tuiPresent(store, 4242)).toBe(false)
      expect(tuiMarkerPath(store)).toBe(join(dir, "sub", `openai-auth-tui.${process.pid}`))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("file watch", () => {
  const waitFor = (register: (resolve: () => void) => () => void, ms = 5000) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("no change seen")), ms)
      const stop = register(() => {
        clearTimeout(timer)
        stop()
        resolve()
      })
    })

  for (const useFsWatch of [true, false]) {
    test(`sees a new and a rewritten file (fs.watch ${useFsWatch ? "on" : "off"})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), "tui-watch-"))
      try {
        const options = { useFsWatch, intervalMs: 50 }
        const created = waitFor((done) => watchFiles(dir, ["openai-auth.json"], done, options))
        writeFileSync(join(dir, "other.json"), "{}")
        writeFileSync(join(dir, "openai-auth.json"), "{}")
        await expect(created).resolves.toBeUndefined()
        const rewritten = waitFor((done) =>
          watchFiles(dir, ["openai-auth-state.json", "openai-auth.json"], done, options),
        )
        writeFileSync(join(dir, "openai-auth-state.json"), '{"updatedAt":1}')
        await expect(rewritten).resolves.toBeUndefined()
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    })
  }

  test("ignores files it was not asked about", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tui-watch-"))
    try {
      let calls = 0
      let ticks = 0
      const ticked = new Promise<void>((resolve) => {
        const stop = watchFiles(dir, ["openai-auth.json"], () => calls++, {
          intervalMs: 20,
          onTick: () => {
            ticks++
            if (ticks === 5) {
              stop()
              resolve()
            }
          },
        })
        writeFileSync(join(dir, "unrelated.json"), "{}")
      })
      await ticked
      expect(calls).toBe(0)
      expect(ticks).toBe(5)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
