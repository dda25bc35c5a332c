import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SimAccount, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import {
  codexRequests,
  makeSandbox,
  quotaReading,
  responsesFor,
  type Sandbox,
  storedAccount,
  writeStore,
} from "./harness.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ defaultText: "Served past the killswitch" })
})
afterAll(async () => {
  await sim.stop()
})

describe("the killswitch in the real OpenCode binary", () => {
  test("the main account below its threshold is held back and the fallback serves the turn", async () => {
    const main = sim.addAccount({ accountId: "acct_ks_main", userId: "user_ks_main" })
    const fallback = sim.addAccount({ accountId: "acct_ks_fb", userId: "user_ks_fb" })
    using box = makeSandbox(sim, main)
    writeStore(box, {
      accounts: [storedAccount(fallback)],
      killswitch: { enabled: true, thresholds: { main: { fiveHour: 20, weekly: 5 } } },
      // 5 % of the 5h window left on main, under its 20 % threshold; the fallback has no reading (fails open)
      quota: { main: quotaReading(95, 30) },
    })
    const result = await box.run(["run", "--model", "openai/gpt-5.5", "say hi"])
    expect(result.stdout).toContain("Served past the killswitch")
    expect(result.code).toBe(0)
    expect(responsesFor(sim, main.accountId)).toHaveLength(0)
    const served = responsesFor(sim, fallback.accountId)
    expect(served.length).toBeGreaterThanOrEqual(1)
    expect(served[0]?.headers["chatgpt-account-id"]).toBe(fallback.accountId)
  }, 120_000)

  const gatedStore = (box: Sandbox, fallback: SimAccount) =>
    writeStore(box, {
      accounts: [storedAccount(fallback)],
      killswitch: { enabled: true, thresholds: { "*": { fiveHour: 20, weekly: 5 } } },
      quota: {
        main: quotaReading(95, 30),
        [`${fallback.accountId}/${fallback.userId}`]: quotaReading(40, 98),
      },
    })

  test("with every account gated no request leaves the machine and OpenCode gets the plugin's refusal", async () => {
    const main = sim.addAccount({ accountId: "acct_ks_all_main", userId: "user_ks_all_main" })
    const fallback = sim.addAccount({ accountId: "acct_ks_all_fb", userId: "user_ks_all_fb" })
    using box = makeSandbox(sim, main)
    gatedStore(box, fallback)
    const before = codexRequests(sim).length
    // the plugin answers 429 + Retry-After (the earliest reset), as the killswitch promises; OpenCode treats
    // that as retryable and waits, logging the refusal: read it from its own log
    const result = await box.run(
      ["run", "--print-logs", "--model", "openai/gpt-5.5", "say hi"],
      {},
      {
        until: "no account can serve this request",
      },
    )
    expect(result.stderr).toContain("AI_APICallError: no account can serve this request")
    expect(result.stderr).toContain("main is held back by the killswitch (fiveHour: 5.0% left, threshold 20%)")
    expect(result.stderr).toContain(`${fallback.accountId}/${fallback.userId} is held back by the killswitch (weekly`)
    expect(result.stdout).not.toContain("Served past the killswitch")
    expect(codexRequests(sim).length).toBe(before)
  }, 120_000)
})
