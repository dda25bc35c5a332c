import { describe, expect, test } from "bun:test"
import {
  addFallback,
  baseArgs,
  lastAssistantText,
  makeSandbox,
  notification,
  promptAndWait,
  readJson,
  responsesFor,
  useNetwork,
  writePiAuth,
} from "./harness.ts"

const setup = useNetwork()

const MODEL = ["--model", "openai-codex/gpt-6-sol"]

describe("accounts in the real pi (RPC mode)", () => {
  test("a usage limit on the main account falls back to a fallback added with /openai-account add", async () => {
    const main = setup.sim.addAccount({ accountId: "acct_pi_lim", userId: "user_pi_lim" })
    const backup = setup.sim.addAccount({ accountId: "acct_pi_backup", userId: "user_pi_backup" })
    using box = makeSandbox(setup.net)
    writePiAuth(box, main)
    const rpc = await box.rpc([...(await baseArgs()), ...MODEL])
    await addFallback(rpc, setup.sim, backup, "backup")

    setup.sim.script(main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 3600 } })
    await promptAndWait(rpc, "p1", "say hi")
    expect(await lastAssistantText(rpc, "t1")).toContain("Hello from the Codex simulator")
    // the main account was asked and refused, the fallback answered, and it is the one in the status line
    expect(responsesFor(setup.sim, main.accountId).map((r) => r.status)).toEqual([429])
    expect(responsesFor(setup.sim, backup.accountId).map((r) => r.status)).toEqual([200])
    const status = await rpc.waitFor(
      (l) => l.method === "setStatus" && String(l.statusText).startsWith("ChatGPT backup"),
    )
    expect(String(status.statusText)).toContain("5h")
    // the exhaustion is remembered for the next turn and the next process
    await promptAndWait(rpc, "p2", "again")
    expect(responsesFor(setup.sim, main.accountId)).toHaveLength(1)
    await rpc.close()
    const store = readJson(box.storePath) as { main?: { exhaustedUntil?: number } }
    expect(store.main?.exhaustedUntil).toBeGreaterThan(Date.now())
    expect(setup.net.outsideAttempts()).toBe(0)
  }, 120_000)

  test("the killswitch routes away from an account whose remaining quota is below its threshold", async () => {
    const main = setup.sim.addAccount({ accountId: "acct_pi_ks", userId: "user_pi_ks" })
    const spare = setup.sim.addAccount({ accountId: "acct_pi_spare", userId: "user_pi_spare" })
    using box = makeSandbox(setup.net)
    writePiAuth(box, main)
    const rpc = await box.rpc([...(await baseArgs()), ...MODEL])
    await addFallback(rpc, setup.sim, spare, "spare")
    await promptAndWait(rpc, "ks-set", "/openai-killswitch set main:20,5")
    await rpc.waitFor(notification("killswitch"))
    await promptAndWait(rpc, "ks-on", "/openai-killswitch on")

    // the main account serves and its answer says 90 % of the 5-hour window is gone: 10 % left < 20 %
    setup.sim.setQuota(main.accountId, { primaryUsedPercent: 90 })
    await promptAndWait(rpc, "p1", "first")
    expect(responsesFor(setup.sim, main.accountId)).toHaveLength(1)
    await promptAndWait(rpc, "p2", "second")
    expect(await lastAssistantText(rpc, "t2")).toContain("Hello from the Codex simulator")
    expect(responsesFor(setup.sim, main.accountId)).toHaveLength(1)
    expect(responsesFor(setup.sim, spare.accountId)).toHaveLength(1)
    await rpc.close()
  }, 120_000)

  test("/openai-quota in RPC mode polls every account and answers with the table", async () => {
    const main = setup.sim.addAccount({ accountId: "acct_pi_q", userId: "user_pi_q" })
    const second = setup.sim.addAccount({ accountId: "acct_pi_q2", userId: "user_pi_q2" })
    setup.sim.setQuota(main.accountId, { primaryUsedPercent: 37, secondaryUsedPercent: 12 })
    setup.sim.setQuota(second.accountId, { primaryUsedPercent: 64, secondaryUsedPercent: 81 })
    using box = makeSandbox(setup.net)
    writePiAuth(box, main)
    const rpc = await box.rpc([...(await baseArgs()), ...MODEL])
    await addFallback(rpc, setup.sim, second, "second")
    const polledBefore = setup.sim.requests.filter((r) => r.path.endsWith("/wham/usage")).length
    const response = await promptAndWait(rpc, "q", "/openai-quota")
    expect((response.data as { disposition: string }).disposition).toBe("handled")
    const table = String((await rpc.waitFor(notification("5H USED"))).message)
    const rows = table.split("\n").slice(1)
    const mainRow = rows.find((r) => r.trimStart().startsWith("*main") || r.trimStart().startsWith("main"))
    const secondRow = rows.find((r) => r.includes("second"))
    expect(mainRow).toContain("37%")
    expect(mainRow).toContain("12%")
    expect(secondRow).toContain("64%")
    expect(secondRow).toContain("81%")
    expect(setup.sim.requests.filter((r) => r.path.endsWith("/wham/usage")).length - polledBefore).toBe(2)
    // a command is not a model turn
    expect(responsesFor(setup.sim, main.accountId)).toHaveLength(0)
    await rpc.close()
  }, 120_000)
})
