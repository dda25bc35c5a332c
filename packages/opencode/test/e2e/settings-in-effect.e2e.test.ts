/**
 * `/openai-dump` and `/openai-logging` say what is in effect, with the real binary: OpenCode started with
 * `CORTEXKIT_OPENAI_AUTH_DUMP=1` dumps whatever the file says, so the command says "on" and names the variable;
 * turning dumps off in the file says the variable keeps them on. The same for the log level.
 */
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

const command = (name: string, ...args: Array<string>) => [
  "run",
  "--model",
  "openai/gpt-5.5",
  "--command",
  name,
  ...args,
]

describe("settings commands show the value in effect (an environment variable beats the file)", () => {
  test("/openai-dump and /openai-logging name the variable that overrides the file", async () => {
    const main = sim.addAccount({ accountId: "acct_eff_main", userId: "user_eff_main" })
    using box = makeSandbox(sim, main, {
      CORTEXKIT_OPENAI_AUTH_DUMP: "1",
      OPENCODE_OPENAI_AUTH_LOG_LEVEL: "debug",
    })
    writeStore(box, { dump: false, logLevel: "warn" })
    const before = codexRequests(sim).length

    const shown = await box.run(command("openai-dump"))
    expect(shown.stdout).toContain("request dumps on (CORTEXKIT_OPENAI_AUTH_DUMP=1 overrides the file's off)")

    const off = await box.run(command("openai-dump", "off"))
    expect(off.stdout).toContain("request dumps turned off in the file, but CORTEXKIT_OPENAI_AUTH_DUMP=1 keeps them on")
    expect((readJson(box.storePath) as { dump?: boolean }).dump).toBe(false)

    const level = await box.run(command("openai-logging"))
    expect(level.stdout).toContain("log level: debug (OPENCODE_OPENAI_AUTH_LOG_LEVEL=debug overrides the file's warn)")

    // no command reached the model
    expect(codexRequests(sim).length).toBe(before)
  }, 180_000)
})
