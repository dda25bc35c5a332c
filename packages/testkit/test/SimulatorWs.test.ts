import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { codexBody, codexHeaders, userMessage } from "../src/SimClient.ts"
import { type SimAccount, type SimulatorHandle, startSimulator } from "../src/Simulator.ts"

let sim: SimulatorHandle
let acct: SimAccount
beforeAll(async () => {
  sim = await startSimulator()
  acct = sim.addAccount({ accountId: "acct_ws", plan: "plus" })
})
afterAll(() => sim.stop())

type Frame = Record<string, unknown> & { type: string }

interface Client {
  readonly ws: WebSocket
  /** frames of one turn: up to and including a terminal event or error frame */
  turn(body: Record<string, unknown>): Promise<Array<Frame>>
  readonly closed: Promise<{ code: number; reason: string }>
}

const TERMINAL = new Set(["response.completed", "response.failed", "response.incomplete", "error"])

const connect = async (headers = codexHeaders(acct)): Promise<Client> => {
  const ws = new WebSocket(sim.wsEndpoint, { headers } as never)
  let pending: { frames: Array<Frame>; resolve: (frames: Array<Frame>) => void } | undefined
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.addEventListener("close", (e) => {
      if (pending) pending.resolve(pending.frames)
      resolve({ code: e.code, reason: e.reason })
    })
  })
  ws.addEventListener("message", (e) => {
    if (pending === undefined) return
    let frame: Frame
    try {
      frame = JSON.parse(String(e.data))
    } catch {
      frame = { type: "<malformed>", raw: String(e.data) }
    }
    pending.frames.push(frame)
    if (TERMINAL.has(frame.type) || frame.type === "<malformed>") pending.resolve(pending.frames)
  })
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener("open", () => resolve())
    ws.addEventListener("error", () => reject(new Error("ws error")))
  })
  return {
    ws,
    closed,
    turn: (body) =>
      new Promise((resolve) => {
        pending = { frames: [], resolve }
        ws.send(JSON.stringify({ type: "response.create", ...body }))
      }),
  }
}

const completed = (frames: ReadonlyArray<Frame>) =>
  frames.find((f) => f.type === "response.completed") as
    | {
        response: {
          id: string
          output: Array<Record<string, unknown>>
          usage: { input_tokens: number; input_tokens_details: { cached_tokens: number } }
        }
      }
    | undefined

describe("WebSocket transport", () => {
  test("reply preceded by a codex.rate_limits frame", async () => {
    sim.setQuota("acct_ws", { primaryUsedPercent: 12, secondaryUsedPercent: 34 })
    const client = await connect()
    const frames = await client.turn(codexBody())
    expect(frames[0]).toMatchObject({
      type: "codex.rate_limits",
      plan_type: "plus",
      rate_limits: { primary: { used_percent: 12, window_minutes: 300 }, secondary: { used_percent: 34 } },
      credits: { has_credits: false, unlimited: false },
    })
    expect(frames[1]?.type).toBe("response.created")
    expect(frames.at(-1)?.type).toBe("response.completed")
    const text = frames
      .filter((f) => f.type === "response.output_text.delta")
      .map((f) => f.delta)
      .join("")
    expect(text).toBe("Hello from the Codex simulator.")
    const rec = sim.requests.at(-1)
    expect(rec?.transport).toBe("ws")
    expect(rec?.accountId).toBe("acct_ws")
    expect(rec?.headers.authorization).toBe(`Bearer ${acct.tokens.access}`)
    client.ws.close()
    sim.setQuota("acct_ws", { primaryUsedPercent: 0, secondaryUsedPercent: 0 })
  })

  test("previous_response_id chains on the same socket only", async () => {
    const client = await connect()
    const first = completed(await client.turn(codexBody({ prompt_cache_key: "ws-chain" })))
    if (first === undefined) throw new Error("no completion")
    const second = await client.turn(
      codexBody({
        prompt_cache_key: "ws-chain",
        previous_response_id: first.response.id,
        input: [userMessage("more")],
      }),
    )
    const usage = completed(second)?.response.usage
    expect(usage?.input_tokens_details.cached_tokens).toBeGreaterThan(0)
    // the chained prompt covers the first turn too, so it is longer than the first turn's prompt
    expect(usage?.input_tokens).toBeGreaterThan(first.response.usage.input_tokens)

    const unknown = await client.turn(codexBody({ previous_response_id: "resp_nope" }))
    expect(unknown).toHaveLength(1)
    expect(unknown[0]).toMatchObject({
      type: "error",
      status_code: 400,
      error: { code: "previous_response_not_found" },
    })

    const other = await connect()
    const elsewhere = await other.turn(codexBody({ previous_response_id: first.response.id }))
    expect(elsewhere[0]).toMatchObject({ type: "error", error: { code: "previous_response_not_found" } })
    client.ws.close()
    other.ws.close()
  })

  test("validation errors and faults arrive as error frames", async () => {
    const client = await connect()
    const invalid = await client.turn(codexBody({ temperature: 1 }))
    expect(invalid[0]).toMatchObject({
      type: "error",
      status_code: 400,
      error: { message: "Unsupported parameter: temperature" },
    })
    sim.script("acct_ws", { fault: { kind: "usage_limit", resetsInSeconds: 60 } })
    const limited = await client.turn(codexBody())
    expect(limited[0]).toMatchObject({
      type: "error",
      status_code: 429,
      error: { type: "usage_limit_reached", resets_in_seconds: 60 },
      // as live (earendil-works/pi#4172, codex-rs responses_websocket.rs tests): names as printed, numbers as numbers
      headers: {
        "X-Codex-Primary-Used-Percent": "100",
        "X-Codex-Primary-Window-Minutes": 300,
        "X-Codex-Primary-Reset-After-Seconds": 60,
        "X-Codex-Credits-Has-Credits": "False",
      },
    })
    sim.script("acct_ws", { fault: { kind: "failed_before_output", code: "server_error" } })
    const failed = await client.turn(codexBody())
    expect(failed.map((f) => f.type)).toEqual(["codex.rate_limits", "response.created", "response.failed"])
    sim.script("acct_ws", { fault: { kind: "ws_connection_limit" } })
    const aged = await client.turn(codexBody())
    expect(aged[0]).toMatchObject({ type: "error", error: { code: "websocket_connection_limit_reached" } })
    sim.script("acct_ws", { fault: { kind: "malformed_sse" } })
    const malformed = await client.turn(codexBody())
    expect(malformed.at(-1)?.type).toBe("<malformed>")
    client.ws.close()
  })

  test("drop_mid_stream terminates the socket after N deltas", async () => {
    const client = await connect()
    sim.script("acct_ws", { fault: { kind: "drop_mid_stream", afterDeltas: 2 } })
    const frames = await client.turn(codexBody())
    expect(frames.filter((f) => f.type === "response.output_text.delta")).toHaveLength(2)
    expect(frames.some((f) => f.type === "response.completed")).toBe(false)
    expect((await client.closed).code).not.toBe(1000)
  })

  test("ws_close closes with the scripted code and reason", async () => {
    const client = await connect()
    sim.script("acct_ws", { fault: { kind: "ws_close", code: 4000, reason: "bye" } })
    void client.turn(codexBody())
    expect(await client.closed).toEqual({ code: 4000, reason: "bye" })
  })

  test("connection-age limit from options", async () => {
    const aged = await startSimulator({ wsMaxAgeMs: 0 })
    const a = aged.addAccount({ accountId: "acct_old" })
    const ws = new WebSocket(aged.wsEndpoint, { headers: codexHeaders(a) } as never)
    const frame = await new Promise<Frame>((resolve) => {
      ws.addEventListener("open", () => ws.send(JSON.stringify({ type: "response.create", ...codexBody() })))
      ws.addEventListener("message", (e) => resolve(JSON.parse(String(e.data))))
    })
    expect(frame).toMatchObject({ type: "error", error: { code: "websocket_connection_limit_reached" } })
    ws.close()
    await aged.stop()
  })

  test("handshake with a bad token is rejected with 401", async () => {
    const res = await fetch(sim.codexEndpoint, {
      headers: {
        ...codexHeaders(acct),
        authorization: "Bearer bad",
        upgrade: "websocket",
        connection: "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
      },
    })
    expect(res.status).toBe(401)
  })

  test("long stream: 50000 deltas arrive in full (backpressure is waited out)", async () => {
    const client = await connect()
    sim.script("acct_ws", { reply: { deltas: 50_000 } })
    const frames = await client.turn(codexBody())
    expect(frames.filter((f) => f.type === "response.output_text.delta")).toHaveLength(50_000)
    expect(frames.at(-1)?.type).toBe("response.completed")
    client.ws.close()
  })

  test("waitForRequest resolves on a future matching frame", async () => {
    const waiting = sim.waitForRequest(
      (r) =>
        r.transport === "ws" &&
        (r.body as { prompt_cache_key?: string } | undefined)?.prompt_cache_key === "sim-session-wait",
    )
    const client = await connect()
    await client.turn(codexBody({ prompt_cache_key: "sim-session-wait" }))
    const rec = await waiting
    expect(rec.usage?.input_tokens).toBeGreaterThan(0)
    expect(rec.status).toBe(200)
    client.ws.close()
  })

  test("turns on one socket are answered one after another", async () => {
    const client = await connect()
    sim.script("acct_ws", { fault: { kind: "slow_first_byte", ms: 50 } }, { reply: { text: "second" } })
    const seen: Array<Frame> = []
    const done = new Promise<void>((resolve) => {
      client.ws.addEventListener("message", (e) => {
        const frame = JSON.parse(String(e.data)) as Frame
        seen.push(frame)
        if (seen.filter((f) => f.type === "response.completed").length === 2) resolve()
      })
    })
    client.ws.send(JSON.stringify({ type: "response.create", ...codexBody() }))
    client.ws.send(JSON.stringify({ type: "response.create", ...codexBody() }))
    await done
    const order = seen
      .filter((f) => f.type === "response.created" || f.type === "response.completed")
      .map((f) => f.type)
    expect(order).toEqual(["response.created", "response.completed", "response.created", "response.completed"])
    const texts = seen.filter((f) => f.type === "response.output_text.done").map((f) => f.text)
    expect(texts).toEqual(["Hello from the Codex simulator.", "second"])
    client.ws.close()
  })
})
