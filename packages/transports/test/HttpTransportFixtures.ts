/** Shared by the HTTP and WebSocket transport tests: requests for the simulator, stalled servers, collectors. */

import { afterAll, beforeAll } from "bun:test"
import type { StreamEvent } from "@cortexkit/openai-auth-core/StreamEvent"
import { codexBody, codexHeaders } from "@cortexkit/openai-auth-testkit/SimClient"
import {
  type AccountInit,
  type SimAccount,
  type SimulatorHandle,
  startSimulator,
} from "@cortexkit/openai-auth-testkit/Simulator"
import type { TransportRequest } from "../src/Transport.ts"

const encoder = new TextEncoder()

export const makeRequest = (
  url: string,
  account: Pick<SimAccount, "accountId" | "tokens">,
  overrides: Record<string, unknown> = {},
  extra: Partial<TransportRequest> = {},
): TransportRequest => {
  const json = codexBody(overrides)
  return {
    url,
    headers: codexHeaders(account),
    body: encoder.encode(JSON.stringify(json)),
    json,
    accountKey: account.accountId,
    sessionKey: String(json.prompt_cache_key),
    ...extra,
  }
}

export const simRequest = (
  sim: SimulatorHandle,
  account: SimAccount,
  overrides: Record<string, unknown> = {},
  extra: Partial<TransportRequest> = {},
) => makeRequest(sim.codexEndpoint, account, overrides, extra)

export const recorder = () => {
  const events: Array<StreamEvent> = []
  return { events, listener: (event: StreamEvent) => void events.push(event) }
}

export const readAll = async (body: ReadableStream<Uint8Array>): Promise<Uint8Array> =>
  new Uint8Array(await new Response(body).arrayBuffer())

export const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

/** A fake account for servers that do not check tokens. */
export const anyAccount = {
  accountId: "acct_x",
  tokens: { access: "token", refresh: "r", idToken: "i", expiresIn: 3600 },
} as const

/**
 * A server answering every POST with status 200 and `chunks`, each flushed on its own, then either ending
 * stalling forever (never closing the body) or resetting the connection.
 */
export const startScriptedServer = (
  chunks: ReadonlyArray<string>,
  /** `reset`: error the body after the chunks; given a promise, only once it settles (after the client read them) */
  options: { stall?: boolean; reset?: boolean | Promise<void> } = {},
) => {
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch: () =>
      new Response(
        new ReadableStream<Uint8Array>({
          async start(controller) {
            for (const chunk of chunks) {
              controller.enqueue(encoder.encode(chunk))
              await Bun.sleep(1)
            }
            if (options.reset instanceof Promise) await options.reset
            if (options.reset) controller.error(new Error("simulated reset"))
            else if (!options.stall) controller.close()
          },
        }),
        { headers: { "content-type": "text/event-stream", "x-codex-primary-used-percent": "12" } },
      ),
  })
  return { url: `http://127.0.0.1:${server.port}/backend-api/codex/responses`, stop: () => server.stop(true) }
}

export const sse = (json: Record<string, unknown>) => `event: ${String(json.type)}\ndata: ${JSON.stringify(json)}\n\n`

/** A simulator with one account for a file's tests: started before them, stopped after them. */
export const useSimulator = (init: AccountInit) => {
  const env = {} as { sim: SimulatorHandle; acct: SimAccount }
  beforeAll(async () => {
    env.sim = await startSimulator()
    env.acct = env.sim.addAccount(init)
  })
  afterAll(() => env.sim.stop())
  return env
}
