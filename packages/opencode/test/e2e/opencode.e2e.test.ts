import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { makeSandbox } from "./harness.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ defaultText: "Hello from the Codex simulator" })
})
afterAll(async () => {
  await sim.stop()
})

const responsesFor = (accountId: string) =>
  sim.requests.filter((r) => r.accountId === accountId && r.path.endsWith("/codex/responses"))

describe("the real OpenCode binary with the plugin, offline", () => {
  test("a turn goes through our fetch in Codex's shape, with web_search appended and no token caps", async () => {
    const main = sim.addAccount({ accountId: "acct_e2e_main", userId: "user_e2e_main" })
    using box = makeSandbox(sim, main)
    const result = await box.run(["run", "--model", "openai/gpt-5.5", "say hi"])
    expect(result.stderr).not.toContain("chatgpt.com")
    expect(result.stdout).toContain("Hello from the Codex simulator")
    expect(result.code).toBe(0)
    const requests = responsesFor(main.accountId)
    expect(requests.length).toBeGreaterThanOrEqual(1)
    const withTools = requests.map((r) => r.body as Record<string, unknown>).find((b) => Array.isArray(b.tools))
    expect(withTools).toBeDefined()
    expect(withTools?.store).toBe(false)
    expect(withTools?.stream).toBe(true)
    expect(typeof withTools?.instructions).toBe("string")
    expect(withTools).not.toHaveProperty("max_output_tokens")
    const tools = withTools?.tools as Array<{ type: string }>
    expect(tools.filter((t) => t.type === "web_search")).toHaveLength(1)
    const [first] = requests
    if (first === undefined) throw new Error("no request reached the simulator")
    expect(first.headers["chatgpt-account-id"]).toBe(main.accountId)
    expect(first.headers.originator).toBe("opencode")
    expect(first.headers["session-id"]).toBe((first.body as { prompt_cache_key?: string }).prompt_cache_key)
  }, 120_000)

  test("web_search can be switched off, dumps are written, and the log holds no secret", async () => {
    const main = sim.addAccount({ accountId: "acct_e2e_nows", userId: "user_e2e_nows" })
    using box = makeSandbox(sim, main, { CORTEXKIT_OPENAI_AUTH_NO_WEB_SEARCH: "1", CORTEXKIT_OPENAI_AUTH_DUMP: "1" })
    const result = await box.run(["run", "--model", "openai/gpt-5.5", "say hi"])
    expect(result.code).toBe(0)
    const bodies = responsesFor(main.accountId).map((r) => r.body as { tools?: Array<{ type: string }> })
    for (const body of bodies) expect((body.tools ?? []).some((t) => t.type === "web_search")).toBe(false)
    expect(existsSync(box.dumpDir)).toBe(true)
    const sessions = readdirSync(box.dumpDir).filter((n) => n !== "README.txt")
    expect(sessions.length).toBeGreaterThan(0)
    const log = existsSync(box.logFile) ? readFileSync(box.logFile, "utf8") : ""
    expect(log).not.toContain(main.tokens.access)
    expect(log).not.toContain(main.tokens.refresh)
  }, 120_000)

  test("usage_limit_reached on the main account falls back to a stored fallback account", async () => {
    const main = sim.addAccount({ accountId: "acct_e2e_lim", userId: "user_e2e_lim" })
    const fallback = sim.addAccount({ accountId: "acct_e2e_fb", userId: "user_e2e_fb" })
    using box = makeSandbox(sim, main)
    // the fallback is added the way a user adds one: through the CLI's device-code login
    sim.setDevice({ interval: "0", approveAfterPolls: 1 })
    sim.nextLogin(fallback.accountId)
    const cli = Bun.spawn(["bun", `${import.meta.dir}/../../src/cli.ts`, "login", "--headless"], {
      env: { ...box.env, OPENCODE_OPENAI_AUTH_FILE: box.storePath },
      stdout: "pipe",
      stderr: "pipe",
    })
    expect(await cli.exited).toBe(0)
    sim.script(main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 3600 } })
    sim.script(main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 3600 } })
    const result = await box.run(["run", "--model", "openai/gpt-5.5", "say hi"], {
      OPENCODE_OPENAI_AUTH_FILE: box.storePath,
    })
    expect(result.stdout).toContain("Hello from the Codex simulator")
    expect(responsesFor(fallback.accountId).length).toBeGreaterThanOrEqual(1)
  }, 120_000)

  // a Responses Lite model (docs/protocol.md "Responses Lite"): the simulator refuses it in any other shape
  test("gpt-5.6-sol: the Lite shape, its header and version, accepted by the strict simulator", async () => {
    const main = sim.addAccount({ accountId: "acct_e2e_lite", userId: "user_e2e_lite" })
    using box = makeSandbox(sim, main)
    const result = await box.run(["run", "--model", "openai/gpt-5.6-sol", "say hi"])
    expect(result.stdout).toContain("Hello from the Codex simulator")
    expect(result.code).toBe(0)
    const turn = responsesFor(main.accountId).find((r) => (r.body as { model?: string }).model === "gpt-5.6-sol")
    if (turn === undefined) throw new Error("no gpt-5.6-sol request reached the simulator")
    expect(turn.status).toBe(200)
    expect(turn.headers["x-openai-internal-codex-responses-lite"]).toBe("true")
    expect(turn.headers.version).toBe("0.144.0")
    const body = turn.body as Record<string, unknown>
    expect(body.tools).toBeUndefined()
    expect(body.instructions).toBeUndefined()
    expect(body.parallel_tool_calls).toBe(false)
    expect((body.reasoning as { context?: string }).context).toBe("all_turns")
    const [head = {}, instructions] = body.input as Array<Record<string, unknown>>
    expect(head.type).toBe("additional_tools")
    expect((head.tools as Array<{ type: string }>).some((t) => t.type === "web_search")).toBe(false)
    expect(instructions).toMatchObject({ type: "message", role: "developer" })
  }, 120_000)
})
