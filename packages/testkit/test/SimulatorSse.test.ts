import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { codexBody, codexHeaders, parseSseText, userMessage } from "../src/SimClient.ts"
import { type SimAccount, type SimulatorHandle, startSimulator } from "../src/Simulator.ts"

let sim: SimulatorHandle
let acct: SimAccount
beforeAll(async () => {
  sim = await startSimulator()
  acct = sim.addAccount({ accountId: "acct_sse", plan: "pro" })
})
afterAll(() => sim.stop())

const post = (body: unknown, headers = codexHeaders(acct)) =>
  fetch(sim.codexEndpoint, { method: "POST", headers, body: JSON.stringify(body) })

const events = async (res: Response) => parseSseText(await res.text())
const types = (list: ReadonlyArray<{ event?: string }>) => list.map((e) => e.event)
const completedUsage = (list: ReadonlyArray<{ event?: string; json?: Record<string, unknown> }>) => {
  const done = list.find((e) => e.event === "response.completed")?.json as
    | { response: { usage: { input_tokens: number; input_tokens_details: { cached_tokens: number } } } }
    | undefined
  return done?.response.usage
}

describe("SSE responses", () => {
  test("default reply parses and carries quota headers", async () => {
    sim.setQuota("acct_sse", { primaryUsedPercent: 42.5, secondaryUsedPercent: 7 })
    const res = await post(codexBody())
    expect(res.status).toBe(200)
    expect(res.headers.get("x-codex-primary-used-percent")).toBe("42.5")
    expect(res.headers.get("x-codex-secondary-used-percent")).toBe("7")
    expect(res.headers.get("x-codex-primary-window-minutes")).toBe("300")
    expect(res.headers.get("x-codex-secondary-window-minutes")).toBe("10080")
    expect(Number(res.headers.get("x-codex-primary-reset-at"))).toBeGreaterThan(Date.now() / 1000)
    expect(res.headers.get("x-codex-plan-type")).toBe("pro")
    expect(res.headers.get("x-codex-credits-has-credits")).toBe("False")
    const list = await events(res)
    expect(types(list)[0]).toBe("response.created")
    expect(types(list).at(-1)).toBe("response.completed")
    for (const e of list) expect(e.json?.type).toBe(e.event)
    const text = list
      .filter((e) => e.event === "response.output_text.delta")
      .map((e) => e.json?.delta)
      .join("")
    expect(text).toBe("Hello from the Codex simulator.")
    const usage = completedUsage(list)
    expect(usage?.input_tokens).toBeGreaterThan(0)
    const rec = sim.requests.at(-1)
    expect(rec?.accountId).toBe("acct_sse")
    expect(rec?.transport).toBe("http")
    expect(rec?.headers["chatgpt-account-id"]).toBe("acct_sse")
    expect(rec?.usage).toEqual(usage as never)
    sim.setQuota("acct_sse", { primaryUsedPercent: 0, secondaryUsedPercent: 0 })
  })

  test("scripted reply with reasoning, chunks and tool calls", async () => {
    sim.script("acct_sse", {
      reply: { text: "abcdef", chunks: 3, reasoning: "thinking", toolCalls: [{ name: "read", arguments: { p: 1 } }] },
    })
    const list = await events(await post(codexBody()))
    const deltas = list.filter((e) => e.event === "response.output_text.delta").map((e) => e.json?.delta)
    expect(deltas).toEqual(["ab", "cd", "ef"])
    expect(types(list)).toContain("response.reasoning_summary_text.delta")
    const args = list.find((e) => e.event === "response.function_call_arguments.done")?.json
    expect(args?.arguments).toBe('{"p":1}')
    const done = list.filter((e) => e.event === "response.output_item.done").map((e) => e.json?.item) as Array<{
      type: string
    }>
    expect(done.map((i) => i.type)).toEqual(["reasoning", "message", "function_call"])
  })

  test("cached_tokens grow over a 3-turn conversation and reset for another prompt_cache_key", async () => {
    const input: Array<unknown> = [userMessage("turn one with some padding text to make bytes")]
    const key = "conv-cache"
    const usages: Array<{ input_tokens: number; input_tokens_details: { cached_tokens: number } }> = []
    for (let turn = 0; turn < 3; turn++) {
      const list = await events(await post(codexBody({ input, prompt_cache_key: key })))
      const usage = completedUsage(list)
      if (usage === undefined) throw new Error("no usage")
      usages.push(usage)
      const item = list.find((e) => e.event === "response.output_item.done")?.json?.item as Record<string, unknown>
      const { id: _id, ...withoutId } = item
      input.push(withoutId, userMessage(`turn ${turn + 2}`))
    }
    expect(usages[0]?.input_tokens_details.cached_tokens).toBe(0)
    expect(usages[1]?.input_tokens_details.cached_tokens).toBeGreaterThan(0)
    expect(usages[2]?.input_tokens_details.cached_tokens).toBeGreaterThan(
      usages[1]?.input_tokens_details.cached_tokens ?? 0,
    )
    for (const u of usages) expect(u.input_tokens_details.cached_tokens).toBeLessThan(u.input_tokens)
    const other = completedUsage(await events(await post(codexBody({ input, prompt_cache_key: "another-key" }))))
    expect(other?.input_tokens_details.cached_tokens).toBe(0)
  })

  test("long stream of 10000 deltas", async () => {
    sim.script("acct_sse", { reply: { deltas: 10_000 } })
    const list = await events(await post(codexBody()))
    expect(list.filter((e) => e.event === "response.output_text.delta")).toHaveLength(10_000)
    expect(types(list).at(-1)).toBe("response.completed")
  })
})

describe("authentication", () => {
  test("missing bearer 401, unknown token 401, account mismatch 403", async () => {
    const h = codexHeaders(acct)
    expect((await post(codexBody(), { ...h, authorization: "" })).status).toBe(401)
    expect((await post(codexBody(), { ...h, authorization: "Bearer nope" })).status).toBe(401)
    expect((await post(codexBody(), { ...h, "chatgpt-account-id": "acct_other" })).status).toBe(403)
  })
})

describe("usage endpoint", () => {
  test("wham/usage reports the account quota", async () => {
    sim.setQuota("acct_sse", { primaryUsedPercent: 100, secondaryUsedPercent: 30, hasCredits: true, balance: "5" })
    const res = await fetch(sim.usageEndpoint, { headers: codexHeaders(acct) })
    expect(res.status).toBe(200)
    const body = (await res.json()) as Record<string, never>
    expect(body).toMatchObject({
      plan_type: "pro",
      rate_limit: {
        allowed: false,
        limit_reached: true,
        primary_window: { used_percent: 100, limit_window_seconds: 18000, reset_after_seconds: 18000 },
        secondary_window: { used_percent: 30, limit_window_seconds: 604800 },
      },
      credits: { has_credits: true, unlimited: false, balance: "5" },
      additional_rate_limits: [],
    })
    expect((await fetch(sim.usageEndpoint)).status).toBe(401)
    sim.setQuota("acct_sse", { primaryUsedPercent: 0, secondaryUsedPercent: 0, hasCredits: false, balance: "0" })
  })
})
