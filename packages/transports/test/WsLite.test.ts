/**
 * A Responses Lite request over the WebSocket (docs/protocol.md "Responses Lite"): the flag HTTP sends as a
 * header travels in the frame's client_metadata, never in the handshake, and the strict simulator accepts
 * the turn only that way.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { prepareCodexRequest } from "@cortexkit/openai-auth-core/CodexRequest"
import { decodeHostRequestResult } from "@cortexkit/openai-auth-core/HostRequest"
import { type SimAccount, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Exit, Redacted, Result, Scope } from "effect"
import { makeWebSocketTransport } from "../src/WebSocketTransport.ts"
import { readAll, recorder, text } from "./HttpTransportFixtures.ts"

let sim: SimulatorHandle
let acct: SimAccount
beforeAll(async () => {
  sim = await startSimulator()
  acct = sim.addAccount({ accountId: "acct_ws_lite" })
})
afterAll(() => sim.stop())

test("a gpt-5.6 turn over the WebSocket: the Lite flag in client_metadata, not in the handshake", async () => {
  const decoded = decodeHostRequestResult({
    url: "https://api.openai.com/v1/responses",
    headers: { "session-id": "ses_ws_lite" },
    body: JSON.stringify({ model: "gpt-5.6-sol", instructions: "Be brief.", input: [{ role: "user", content: "hi" }] }),
  })
  if (Result.isFailure(decoded)) throw decoded.failure
  const prepared = prepareCodexRequest(decoded.success, {
    accessToken: Redacted.make(acct.tokens.access),
    accountId: acct.accountId,
    settings: { codexApiEndpoint: sim.codexEndpoint, webSearch: true },
    identity: { originator: "opencode", userAgent: "opencode/1.18.33" },
  })
  expect(prepared.headers["x-openai-internal-codex-responses-lite"]).toBe("true")
  const scope = Effect.runSync(Scope.make())
  try {
    const { transport } = await Effect.runPromise(Scope.provide(scope)(makeWebSocketTransport({})))
    const response = await Effect.runPromise(
      transport.send(
        {
          url: prepared.url,
          headers: prepared.headers,
          body: prepared.body,
          json: prepared.json,
          accountKey: acct.accountId,
          sessionKey: prepared.poolKey,
        },
        recorder().listener,
      ),
    )
    expect(text(await readAll(response.body))).toContain("response.completed")
    const turn = sim.requests.filter((r) => r.transport === "ws").at(-1)
    expect(turn?.status).toBe(200)
    expect(turn?.headers["x-openai-internal-codex-responses-lite"]).toBeUndefined()
    const frame = turn?.body as { client_metadata?: Record<string, string> }
    expect(frame.client_metadata?.ws_request_header_x_openai_internal_codex_responses_lite).toBe("true")
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
  }
})
