import { afterAll, beforeAll, expect, test } from "bun:test"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect } from "effect"
import { makeRawWebSocketTransport } from "../src/RawWebSocketTransport.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(() => sim.stop())

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

test("the raw WebSocket transport answers a turn over the raw client as SSE", async () => {
  const account = sim.addAccount({ accountId: "acct_layer" })
  const json = JSON.parse(createFrame("hello")) as Record<string, unknown>
  delete json.type
  const body = new TextEncoder().encode(JSON.stringify(json))
  const program = Effect.gen(function* () {
    const { transport } = yield* makeRawWebSocketTransport({ fallbackToHttp: false })
    const response = yield* transport.send(
      {
        url: sim.codexEndpoint,
        headers: {
          authorization: `Bearer ${account.tokens.access}`,
          "chatgpt-account-id": "acct_layer",
          version: "0.144.0",
        },
        body,
        json,
        accountKey: "acct_layer",
        sessionKey: "sess_layer",
      },
      () => {},
    )
    const text = yield* Effect.promise(() => new Response(response.body).text())
    return { kind: transport.kind, status: response.status, headers: response.headers, text }
  })
  const out = await Effect.runPromise(Effect.scoped(program))
  expect(out.kind).toBe("raw-websocket")
  expect(out.status).toBe(200)
  expect(out.text).toContain("event: response.completed")
  const wsRequests = sim.requests.filter((r) => r.accountId === "acct_layer" && r.transport === "ws")
  expect(wsRequests.length).toBe(1)
})
