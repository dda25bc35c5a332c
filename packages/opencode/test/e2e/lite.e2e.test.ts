/**
 * A GPT-5.6 model (Responses Lite) through the real OpenCode binary against the strict simulator: the plugin
 * sends the Lite request (codex-protocol.md §3, docs/protocol.md "Responses Lite"), which the simulator
 * refuses in any other shape, and the version header it needs.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { makeSandbox } from "./harness.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ defaultText: "Hello from the Lite model" })
})
afterAll(async () => {
  await sim.stop()
})

describe("a Responses Lite model through the real OpenCode binary", () => {
  test("gpt-5.6-sol: the Lite shape, its header and version, accepted by the strict simulator", async () => {
    const main = sim.addAccount({ accountId: "acct_e2e_lite", userId: "user_e2e_lite" })
    using box = makeSandbox(sim, main)
    const result = await box.run(["run", "--model", "openai/gpt-5.6-sol", "say hi"])
    expect(result.stdout).toContain("Hello from the Lite model")
    expect(result.code).toBe(0)
    const requests = sim.requests.filter((r) => r.accountId === main.accountId && r.path.endsWith("/codex/responses"))
    const turn = requests.find((r) => (r.body as { model?: string }).model === "gpt-5.6-sol")
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
