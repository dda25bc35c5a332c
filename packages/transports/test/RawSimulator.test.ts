import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { makeRawConnector } from "../src/RawWebSocket.ts"
import { nativeConnector, UpgradeRejected, type WsConnection, type WsConnector } from "../src/WsConnection.ts"
import { connections } from "./support/Connections.ts"

let sim: SimulatorHandle
let headers: Record<string, string>

beforeAll(async () => {
  sim = await startSimulator()
  const account = sim.addAccount({ accountId: "acct_raw" })
  headers = {
    authorization: `Bearer ${account.tokens.access}`,
    "chatgpt-account-id": "acct_raw",
    "openai-beta": "responses_websockets=2026-02-06",
    // the backend gates models on the Codex client version (testkit SimRules)
    version: "0.144.0",
  }
})
afterAll(() => sim.stop())
const open = connections()

const createFrame = (text: string) =>
  JSON.stringify({
    type: "response.create",
    model: "gpt-5.5",
    instructions: "",
    input: [{ type: "message", role: "user", content: [{ type: "input_text", text }] }],
    store: false,
    stream: true,
    prompt_cache_key: "sess_raw",
  })

interface Turn {
  readonly types: Array<string>
  readonly close?: { code: number; reason: string }
}

/** One turn: send, collect frame types until a terminal event or the close. */
const runTurn = (conn: WsConnection, text: string): Promise<Turn> =>
  new Promise((resolve) => {
    const types: Array<string> = []
    conn.onMessage((frame) => {
      const type = (JSON.parse(frame) as { type: string }).type
      types.push(type)
      if (type === "response.completed" || type === "error" || type === "response.failed") resolve({ types })
    })
    conn.onClose((code, reason) => resolve({ types, close: { code, reason } }))
    conn.send(createFrame(text))
  })

const connectors: Array<[string, WsConnector]> = [
  ["native", nativeConnector],
  ["raw/bun", makeRawConnector({ implementation: "bun" })],
  ["raw/node", makeRawConnector({ implementation: "node" })],
]

describe("raw WebSocket against the simulator", () => {
  test("every connector sees the same events for a default reply, a 10,000-delta stream and a ws_close fault", async () => {
    const results: Record<string, Array<Turn>> = {}
    for (const [name, connector] of connectors) {
      const turns: Array<Turn> = []
      const conn = await open(connector, sim.wsEndpoint, headers)
      turns.push(await runTurn(conn, "hi"))
      conn.close()
      sim.script("acct_raw", { reply: { text: "t", deltas: 10_000 } })
      const conn2 = await open(connector, sim.wsEndpoint, headers)
      turns.push(await runTurn(conn2, "stream"))
      conn2.close()
      sim.script("acct_raw", { fault: { kind: "ws_close", code: 4000, reason: "simulated" } })
      const conn3 = await open(connector, sim.wsEndpoint, headers)
      turns.push(await runTurn(conn3, "close me"))
      results[name] = turns
    }
    const native = results.native as Array<Turn>
    expect(native[0]?.types.at(-1)).toBe("response.completed")
    expect(native[1]?.types.filter((t) => t === "response.output_text.delta").length).toBe(10_000)
    expect(native[2]?.close).toEqual({ code: 4000, reason: "simulated" })
    expect(results["raw/bun"]).toEqual(native)
    expect(results["raw/node"]).toEqual(native)
  })

  test("the raw client shows the upgrade response headers the native one cannot", async () => {
    const conn = await open(makeRawConnector(), sim.wsEndpoint, headers)
    expect(conn.headers["x-codex-turn-state"]).toMatch(/^ts_/)
    conn.close()
  })

  test("a refused upgrade is an UpgradeRejected with the JSON body", async () => {
    const error = await open(makeRawConnector(), sim.wsEndpoint, { ...headers, authorization: "Bearer nope" }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(UpgradeRejected)
    expect((error as UpgradeRejected).status).toBe(401)
    expect(JSON.parse((error as UpgradeRejected).body).error.code).toBe("token_invalid")
  })
})
