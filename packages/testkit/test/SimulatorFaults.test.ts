import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { codexBody, codexHeaders, parseSseText } from "../src/SimClient.ts"
import { type SimAccount, type SimulatorHandle, startSimulator } from "../src/Simulator.ts"

let sim: SimulatorHandle
let acct: SimAccount
beforeAll(async () => {
  sim = await startSimulator()
  acct = sim.addAccount({ accountId: "acct_f", plan: "plus" })
})
afterAll(() => sim.stop())

const post = () =>
  fetch(sim.codexEndpoint, { method: "POST", headers: codexHeaders(acct), body: JSON.stringify(codexBody()) })

/** reads the whole body, also when the server cuts it; reports whether it ended cleanly */
const readAll = async (res: Response) => {
  const reader = res.body?.getReader()
  const decoder = new TextDecoder()
  let text = ""
  let clean = true
  if (reader === undefined) return { text, clean }
  for (;;) {
    const next = await reader.read().catch(() => undefined)
    if (next === undefined) {
      clean = false
      break
    }
    if (next.done) break
    text += decoder.decode(next.value, { stream: true })
  }
  return { text, clean }
}

describe("SSE faults", () => {
  test("status faults with default and custom bodies", async () => {
    for (const status of [401, 403, 500, 502, 503]) {
      sim.script("acct_f", { fault: { kind: "status", status } })
      const res = await post()
      expect(res.status).toBe(status)
      expect(((await res.json()) as { error: { message: string } }).error.message).toBe(`Simulated ${status}`)
    }
    sim.script("acct_f", { fault: { kind: "status", status: 401, body: { detail: "custom" } } })
    expect(await (await post()).json()).toEqual({ detail: "custom" })
    expect(sim.requests.at(-1)?.status).toBe(401)
  })

  test("usage_limit: 429 with usage_limit_reached body and 100% headers", async () => {
    sim.script("acct_f", { fault: { kind: "usage_limit", resetsInSeconds: 120 } })
    const res = await post()
    expect(res.status).toBe(429)
    expect(res.headers.get("x-codex-primary-used-percent")).toBe("100")
    expect(res.headers.get("x-codex-primary-reset-after-seconds")).toBe("120")
    const body = (await res.json()) as { error: Record<string, unknown> }
    expect(body.error.type).toBe("usage_limit_reached")
    expect(body.error.plan_type).toBe("plus")
    expect(body.error.resets_in_seconds).toBe(120)
    expect(Number(body.error.resets_at) - Math.floor(Date.now() / 1000)).toBeGreaterThan(100)
  })

  test("burst_429: retry-after and no usage-limit body", async () => {
    sim.script("acct_f", { fault: { kind: "burst_429", retryAfterSeconds: 3 } })
    const res = await post()
    expect(res.status).toBe(429)
    expect(res.headers.get("retry-after")).toBe("3")
    const body = (await res.json()) as { error: { type: string; code: string } }
    expect(body.error.type).not.toBe("usage_limit_reached")
    expect(body.error.code).toBe("rate_limit_exceeded")
  })

  test("failed_before_output: 200, response.created then response.failed", async () => {
    sim.script("acct_f", { fault: { kind: "failed_before_output", code: "server_is_overloaded" } })
    const res = await post()
    expect(res.status).toBe(200)
    const list = parseSseText(await res.text())
    expect(list.map((e) => e.event)).toEqual(["response.created", "response.failed"])
    const failed = list[1]?.json as { response: { error: { code: string } } }
    expect(failed.response.error.code).toBe("server_is_overloaded")
  })

  test("drop_mid_stream: exactly N deltas, no terminal event, unclean end", async () => {
    sim.script("acct_f", { fault: { kind: "drop_mid_stream", afterDeltas: 2 } })
    const { text, clean } = await readAll(await post())
    const list = parseSseText(text)
    expect(list.filter((e) => e.event === "response.output_text.delta")).toHaveLength(2)
    expect(list.some((e) => e.event === "response.completed")).toBe(false)
    expect(clean).toBe(false)
  })

  test("slow_first_byte delays the response, then a normal reply", async () => {
    sim.script("acct_f", { fault: { kind: "slow_first_byte", ms: 150 } })
    const started = performance.now()
    const res = await post()
    expect(performance.now() - started).toBeGreaterThanOrEqual(140)
    const list = parseSseText(await res.text())
    expect(list.at(-1)?.event).toBe("response.completed")
  })

  test("malformed_sse: undecodable data after response.created", async () => {
    sim.script("acct_f", { fault: { kind: "malformed_sse" } })
    const list = parseSseText(await (await post()).text())
    expect(list[0]?.event).toBe("response.created")
    expect(list[1]?.json).toBeUndefined()
    expect(list.some((e) => e.event === "response.completed")).toBe(false)
  })

  test("scripts are FIFO per account and fall back to the default reply", async () => {
    sim.script("acct_f", { reply: { text: "one" } }, { reply: { text: "two" } })
    const texts: Array<string> = []
    for (let i = 0; i < 3; i++) {
      const list = parseSseText(await (await post()).text())
      const done = list.find((e) => e.event === "response.output_text.done")?.json as { text: string }
      texts.push(done.text)
    }
    expect(texts).toEqual(["one", "two", "Hello from the Codex simulator."])
  })
})

test("drop_mid_stream clean: orderly EOF without a terminal event", async () => {
  sim.script("acct_f", { fault: { kind: "drop_mid_stream", afterDeltas: 1, clean: true } })
  const { text, clean } = await readAll(await post())
  const list = parseSseText(text)
  expect(list.filter((e) => e.event === "response.output_text.delta")).toHaveLength(1)
  expect(list.some((e) => e.event === "response.completed")).toBe(false)
  expect(clean).toBe(true)
})
