import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { HostStore, tempDir } from "../../accounts/test/support/fixture.ts"
import { makeFetch } from "../src/Pipeline.ts"
import { makeRuntime } from "../src/Runtime.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ defaultText: "still serving" })
})
afterAll(async () => {
  await sim.stop()
})

const turn = (session: string) => ({
  method: "POST",
  headers: { "content-type": "application/json", "session-id": session },
  body: JSON.stringify({
    model: "gpt-5.5",
    input: [{ role: "user", content: [{ type: "input_text", text: "hi" }] }],
    instructions: "be brief",
    store: false,
    stream: true,
  }),
})

describe("the plugin fetch", () => {
  test("a corrupt config file is reported and left alone, and the main account keeps being served", async () => {
    using dir = tempDir()
    const main = sim.addAccount({ accountId: "acct_pipe_main", userId: "u_pipe_main" })
    const storePath = join(dir.dir, "openai-auth.json")
    const logFile = join(dir.dir, "plugin.log")
    const corrupt = '{ "routing": "fallback-first", oops'
    writeFileSync(storePath, corrupt)
    const env = {
      OPENCODE_OPENAI_AUTH_FILE: storePath,
      OPENCODE_OPENAI_AUTH_LOG_FILE: logFile,
      CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
      CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
      CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
    }
    const runtime = makeRuntime(env, new HostStore(main).layer)
    try {
      const fetch = makeFetch(runtime)
      for (const session of ["ses_corrupt_1", "ses_corrupt_2"]) {
        const response = await fetch("https://api.openai.com/v1/responses", turn(session))
        expect(response.status).toBe(200)
        expect(await response.text()).toContain("still serving")
      }
      expect(readFileSync(storePath, "utf8")).toBe(corrupt)
      expect(sim.requests.filter((r) => r.accountId === main.accountId)).toHaveLength(2)
    } finally {
      await runtime.dispose()
    }
    const log = readFileSync(logFile, "utf8")
    expect(log).toContain(storePath)
    expect(log).toContain("cannot be read")
    expect(log).not.toContain(main.tokens.access)
  })
})
