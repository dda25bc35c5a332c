import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { codexRequests, makeSandbox, readJson, writeStore } from "./harness.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ defaultText: "This answer must never be asked for" })
})
afterAll(async () => {
  await sim.stop()
})

describe("slash commands run headless through `opencode run --command`", () => {
  test("openai-routing fallback-first is applied by the plugin, printed on stdout, and never reaches the model", async () => {
    const main = sim.addAccount({ accountId: "acct_cmd_main", userId: "user_cmd_main" })
    using box = makeSandbox(sim, main)
    const before = codexRequests(sim).length
    const result = await box.run(["run", "--model", "openai/gpt-5.5", "--command", "openai-routing", "fallback-first"])
    expect(result.stdout).toContain("routing set to fallback-first")
    // OpenCode 1.18 can only stop the model turn through an error: exit 1 is the documented outcome
    expect(result.code).toBe(1)
    expect(result.stdout).not.toContain("This answer must never be asked for")
    expect((readJson(box.storePath) as { routing?: string } | undefined)?.routing).toBe("fallback-first")
    expect(codexRequests(sim).length).toBe(before)
  }, 120_000)

  test("a bad argument prints the usage line and leaves the store alone", async () => {
    const main = sim.addAccount({ accountId: "acct_cmd_bad", userId: "user_cmd_bad" })
    using box = makeSandbox(sim, main)
    const killswitch = { enabled: true, thresholds: { main: { fiveHour: 5, weekly: 10 } } }
    writeStore(box, { killswitch })
    const before = codexRequests(sim).length
    const result = await box.run([
      "run",
      "--model",
      "openai/gpt-5.5",
      "--command",
      "openai-killswitch",
      "set",
      "main:x",
    ])
    expect(result.code).toBe(1)
    expect(result.stdout).toContain('"main:x" is not <account>:<5h>,<1w>')
    expect(result.stdout).toContain("Usage: killswitch")
    expect((readJson(box.storePath) as { killswitch?: unknown } | undefined)?.killswitch).toEqual(killswitch)
    expect(codexRequests(sim).length).toBe(before)
  }, 120_000)
})
