/**
 * A WebSocket that fails before any output sends the request over HTTP: the log says so, with the account
 * and why, once per fallback (the user sees `transport: http` in their dumps and wants to know the reason).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { type SimAccount, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect } from "effect"
import { ConnectFailure } from "../src/Transport.ts"
import { makeWebSocketTransport } from "../src/WebSocketTransport.ts"
import type { WsConnector } from "../src/WsConnection.ts"
import { readAll, simRequest } from "./HttpTransportFixtures.ts"

let sim: SimulatorHandle
let acct: SimAccount
beforeAll(async () => {
  sim = await startSimulator()
  acct = sim.addAccount({ accountId: "acct_ws_log", plan: "pro" })
})
afterAll(() => sim.stop())

/** sends one request through a fresh WebSocket transport, capturing the log lines */
const sendLogged = (options: Parameters<typeof makeWebSocketTransport>[0], cacheKey: string) => {
  const lines: Array<string> = []
  return Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const { transport } = yield* makeWebSocketTransport(options)
        const response = yield* transport.send(simRequest(sim, acct, { prompt_cache_key: cacheKey }), () => {})
        yield* Effect.promise(() => readAll(response.body))
        return { transport: response.transport, lines }
      }),
    ).pipe(Effect.provide(Logger.layerCapture((line) => lines.push(line), "info"))),
  )
}

describe("the WebSocket to HTTP fallback in the log", () => {
  test("a socket closed before output", async () => {
    sim.script(acct.accountId, { fault: { kind: "ws_close", code: 1011 } })
    const { transport, lines } = await sendLogged({}, "ws-log-close")
    expect(transport).toBe("http")
    expect(lines.map((l) => l.replace(/^\S+ /, "").trimEnd())).toEqual([
      `INFO the WebSocket failed before any output: the request goes over HTTP {"account":"acct_ws_log","transport":"websocket","reason":"socket closed before output (1011)"}`,
    ])
  })

  test("a refused upgrade", async () => {
    const refusing: WsConnector = () => Effect.fail(new ConnectFailure({ message: "426 Upgrade Required" }))
    const { transport, lines } = await sendLogged({ connector: refusing }, "ws-log-refused")
    expect(transport).toBe("http")
    expect(lines).toHaveLength(1)
    expect(lines[0]).toContain('"reason":"426 Upgrade Required"')
  })
})
