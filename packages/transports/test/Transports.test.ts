import { afterAll, beforeAll, expect, test } from "bun:test"
import { type SimAccount, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { Transports } from "../src/Transports.ts"
import { nativeConnector, type WsConnector } from "../src/WsConnection.ts"
import { readAll, recorder, simRequest, text } from "./HttpTransportFixtures.ts"

let sim: SimulatorHandle
let acct: SimAccount

beforeAll(async () => {
  sim = await startSimulator()
  acct = sim.addAccount({ accountId: "acct_transports", plan: "pro" })
})
afterAll(() => sim.stop())

/** The three transports in a scope of their own, with the native WebSocket's connections counted. */
const build = async () => {
  let opened = 0
  const connector: WsConnector = (url, headers) =>
    Effect.suspend(() => {
      opened++
      return nativeConnector(url, headers)
    })
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(Transports.layerWith({ websocket: { connector } }), scope),
  )
  const transports = Context.get(context, Transports)
  return { transports, scope, opened: () => opened }
}

const served = async (
  send: Effect.Effect<{ readonly body: ReadableStream<Uint8Array>; readonly transport: string }, unknown>,
) => {
  const response = await Effect.runPromise(send)
  return { transport: response.transport, body: text(await readAll(response.body)) }
}

test("each choice gets its transport; the WebSocket ones are built on first use, once, and answer", async () => {
  const { transports, scope, opened } = await build()
  try {
    expect(transports.select({ webSockets: false, rawWebSocket: true }).kind).toBe("http")
    expect(transports.select({ webSockets: true, rawWebSocket: false }).kind).toBe("websocket")
    expect(transports.select({ webSockets: true, rawWebSocket: true }).kind).toBe("raw-websocket")
    // nothing of the WebSocket transports exists before a request asks for it
    expect(opened()).toBe(0)

    const ws = transports.select({ webSockets: true, rawWebSocket: false })
    // two first requests racing on different sessions share the one transport (and its pool) built for them
    const [a, b] = await Promise.all([
      served(ws.send(simRequest(sim, acct, { prompt_cache_key: "ses_lazy_a" }), recorder().listener)),
      served(ws.send(simRequest(sim, acct, { prompt_cache_key: "ses_lazy_b" }), recorder().listener)),
    ])
    expect([a.transport, b.transport]).toEqual(["websocket", "websocket"])
    expect(a.body).toContain("response.completed")
    expect(b.body).toContain("response.completed")
    expect(opened()).toBe(2)
    // a second request on a session reuses its pooled socket: the pool outlived the first request
    await served(ws.send(simRequest(sim, acct, { prompt_cache_key: "ses_lazy_a" }), recorder().listener))
    expect(opened()).toBe(2)

    const raw = await served(
      transports
        .select({ webSockets: true, rawWebSocket: true })
        .send(simRequest(sim, acct, { prompt_cache_key: "ses_lazy_raw" }), recorder().listener),
    )
    expect(raw.transport).toBe("raw-websocket")
    expect(raw.body).toContain("response.completed")
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
})
