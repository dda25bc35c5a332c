/**
 * The quota dialog's data path from the state a user has: a main login in OpenCode's `auth.json` and a
 * fallback account that has never served a request (no quota reading anywhere). The TUI runtime polls the
 * simulator's usage endpoint for both, each answer arrives on its own, and a failed poll is one short phrase.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { keyOf } from "@cortexkit/openai-auth-accounts/AccountKey"
import type { PollOutcome } from "@cortexkit/openai-auth-accounts/QuotaPoller"
import { emptyDocument } from "@cortexkit/openai-auth-accounts/StoreSchema"
import { QuotaSnapshot, QuotaWindow } from "@cortexkit/openai-auth-core/Quota"
import { type SimAccount, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { makeQuotaPolls } from "../src/tui/QuotaPolls.ts"
import { accountKeys, type PollState, pollFailurePhrase, quotaDialogModel } from "../src/tui/QuotaView.ts"
import { makeTuiRuntime, type TuiRuntime, tuiLayer } from "../src/tui/Runtime.ts"

let sim: SimulatorHandle
let dir: string
beforeAll(async () => {
  sim = await startSimulator({})
  dir = mkdtempSync(join(tmpdir(), "tui-quota-"))
})
afterAll(async () => {
  await sim.stop()
  rmSync(dir, { recursive: true, force: true })
})

let counter = 0
const sandbox = (main: SimAccount, fallbacks: ReadonlyArray<Record<string, unknown>>) => {
  const root = join(dir, `case-${++counter}`)
  const env = {
    XDG_DATA_HOME: join(root, "data"),
    OPENCODE_OPENAI_AUTH_FILE: join(root, "config", "openai-auth.json"),
    OPENCODE_OPENAI_AUTH_LOG_FILE: join(root, "plugin.log"),
    CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
    CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
    CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
  }
  mkdirSync(join(root, "data", "opencode"), { recursive: true })
  mkdirSync(join(root, "config"), { recursive: true })
  writeFileSync(
    join(root, "data", "opencode", "auth.json"),
    JSON.stringify({
      openai: {
        type: "oauth",
        access: main.tokens.access,
        refresh: main.tokens.refresh,
        expires: Date.now() + main.tokens.expiresIn * 1000,
        accountId: main.accountId,
      },
    }),
  )
  writeFileSync(env.OPENCODE_OPENAI_AUTH_FILE, JSON.stringify({ version: 1, accounts: fallbacks }))
  chmodSync(env.OPENCODE_OPENAI_AUTH_FILE, 0o600)
  const runtime = makeTuiRuntime(tuiLayer(env))
  return { env, runtime }
}

/** a fallback as `openai-auth login` saves it, before it ever served a request */
const neverServed = (account: SimAccount, extra: Record<string, unknown> = {}) => ({
  id: account.accountId,
  userId: account.userId,
  label: "backup",
  access: account.tokens.access,
  refresh: account.tokens.refresh,
  expiresAt: Date.now() + account.tokens.expiresIn * 1000,
  addedAt: Date.now(),
  ...extra,
})

const collect = async (runtime: TuiRuntime, keys: ReadonlyArray<string>) => {
  const outcomes: Array<PollOutcome> = []
  await runtime.pollQuota(keys, (o) => outcomes.push(o))
  return outcomes
}

describe("the TUI quota dialog polls every account", () => {
  test("a fallback that never served a request shows its real 5h and weekly figures", async () => {
    const main = sim.addAccount({ accountId: "acct_tq_main", userId: "user_tq_main" })
    const fallback = sim.addAccount({ accountId: "acct_tq_fb", userId: "user_tq_fb" })
    sim.setQuota(main.accountId, { primaryUsedPercent: 42, secondaryUsedPercent: 17 })
    sim.setQuota(fallback.accountId, { primaryUsedPercent: 12, secondaryUsedPercent: 30 })
    const { env, runtime } = sandbox(main, [neverServed(fallback)])
    try {
      const snap = await runtime.snapshot()
      if ("error" in snap) throw new Error(snap.error)
      const fallbackKey = keyOf({ id: fallback.accountId, userId: fallback.userId })
      expect(accountKeys(snap.doc)).toEqual(["main", fallbackKey])
      expect(snap.mainLoggedIn).toBe(true)

      // before any answer: the dialog says it is refreshing, not "quota unknown"
      const polling = new Map<string, PollState>(accountKeys(snap.doc).map((k) => [k, { _tag: "Polling" }]))
      const before = quotaDialogModel(snap.doc, polling, Date.now(), snap.mainLoggedIn)
      expect(before.title).toBe("OpenAI quota: refreshing 0 of 2 answered…")
      expect(before.rows.map((r) => r.description)).toEqual([
        "5h - · weekly - · refreshing…",
        "5h - · weekly - · refreshing…",
      ])

      const outcomes = await collect(runtime, accountKeys(snap.doc))
      expect(outcomes.map((o) => [o.key, o.ok]).sort()).toEqual([
        [fallbackKey, true],
        ["main", true],
      ])
      const polls = new Map(
        outcomes.map((o): [string, PollState] => [
          o.key,
          o.ok ? { _tag: "Answered", snapshot: o.snapshot } : { _tag: "Failed", phrase: "" },
        ]),
      )
      const after = quotaDialogModel(snap.doc, polls, Date.now(), snap.mainLoggedIn)
      expect(after.title).toBe("OpenAI quota (routing main-first; * = selected account)")
      expect(after.rows[0]?.description).toStartWith("5h 42% (resets in ")
      expect(after.rows[1]?.title).toBe("  backup (plus)")
      expect(after.rows[1]?.description).toStartWith("5h 12% (resets in ")
      expect(after.rows[1]?.description).toContain("weekly 30% (resets in ")
      expect(after.rows[1]?.description).toEndWith(" · active")
      // and the readings are in the store for the sidebar and the other processes
      const stored = JSON.parse(readFileSync(env.OPENCODE_OPENAI_AUTH_FILE, "utf8"))
      expect(stored.quota[fallbackKey].fiveHour.usedPercent).toBe(12)
      expect(stored.quota.main.weekly.usedPercent).toBe(17)
    } finally {
      await runtime.dispose()
    }
  })

  test("a failed poll says why in a few words; the others still answer", async () => {
    const main = sim.addAccount({ accountId: "acct_tq_main2", userId: "user_tq_main2" })
    const broken = sim.addAccount({ accountId: "acct_tq_broken", userId: "user_tq_broken" })
    sim.setQuota(main.accountId, { primaryUsedPercent: 5, secondaryUsedPercent: 6 })
    // its access token has expired and the refresh token was revoked: the account needs a new login
    sim.scriptRefresh(broken.accountId, { kind: "invalidated" })
    const { runtime } = sandbox(main, [neverServed(broken, { expiresAt: Date.now() - 60_000 })])
    try {
      const snap = await runtime.snapshot()
      if ("error" in snap) throw new Error(snap.error)
      const polls = makeQuotaPolls(runtime.pollQuota, () => undefined)
      const first = polls.refresh(accountKeys(snap.doc))
      // a second open while the polls run shares them
      expect(polls.refresh(accountKeys(snap.doc))).toBe(first)
      await first
      const model = quotaDialogModel(snap.doc, polls.states(), Date.now(), snap.mainLoggedIn)
      expect(model.title).toBe("OpenAI quota (routing main-first; * = selected account): 1 of 2 polls failed")
      expect(model.rows[0]?.description).toStartWith("5h 5% (resets in ")
      expect(model.rows[1]?.description).toBe("poll failed: needs re-login")
    } finally {
      await runtime.dispose()
    }
  })
})

describe("poll failure phrases", () => {
  const failed = (reason: string, message: string) => ({ key: "k", ok: false as const, reason, message })
  test("one short phrase per cause", () => {
    expect(pollFailurePhrase(failed("NeedsRelogin", "no ChatGPT login: run /login openai"))).toBe(
      "not logged in with ChatGPT",
    )
    expect(pollFailurePhrase(failed("NeedsRelogin", "account x needs a new login"))).toBe("needs re-login")
    expect(pollFailurePhrase(failed("HttpError", "connect ECONNREFUSED 127.0.0.1:1"))).toBe(
      "usage endpoint unreachable",
    )
    expect(pollFailurePhrase(failed("UsageStatus", "usage endpoint answered 503: {}"))).toBe(
      "usage endpoint answered 503",
    )
    expect(pollFailurePhrase(failed("UsageStatus", "usage endpoint answered 401: no"))).toBe(
      "usage endpoint refused the token (401)",
    )
    expect(pollFailurePhrase(failed("UsageMalformed", "not JSON"))).toBe("unreadable usage answer")
    expect(pollFailurePhrase(failed("CredentialsUnavailable", "store locked"))).toBe("no usable token right now")
  })

  test("the stored reading stays on screen next to a failed poll", () => {
    const doc = {
      ...emptyDocument(),
      quota: {
        main: QuotaSnapshot.make({
          observedAt: 1,
          source: "headers",
          otherWindows: [],
          additional: [],
          fiveHour: QuotaWindow.make({ usedPercent: 50, windowMinutes: 300 }),
        }),
      },
    }
    const model = quotaDialogModel(
      doc,
      new Map([["main", { _tag: "Failed", phrase: "usage endpoint unreachable" }]]),
      2,
    )
    expect(model.rows[0]?.description).toBe("5h 50% (-) · weekly - · active · poll failed: usage endpoint unreachable")
  })
})
