/**
 * HTTPS and wss against the simulator through a TLS front (Bun.serve with a self-signed certificate made by
 * openssl in the test) that forwards POSTs and WebSocket frames to the plain simulator. Skipped, with a note
 * on stderr, when openssl is not available.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SseParser } from "@cortexkit/openai-auth-core/Sse"
import { type SimAccount, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Exit, Scope } from "effect"
import { resolveHttpOptions, sendHttp } from "../src/HttpTransport.ts"
import { makeWebSocketTransport } from "../src/WebSocketTransport.ts"
import { makeNativeConnector } from "../src/WsConnection.ts"
import { makeRequest, readAll, recorder } from "./HttpTransportFixtures.ts"
import { makeSelfSigned, type Pem } from "./node/cert.ts"

const pem: Pem | undefined = makeSelfSigned()
let sim: SimulatorHandle
let acct: SimAccount
let front: ReturnType<typeof Bun.serve> | undefined
let httpsUrl = ""

interface Relay {
  readonly headers: Record<string, string>
  upstream?: WebSocket
  readonly queue: Array<string>
}

beforeAll(async () => {
  sim = await startSimulator()
  acct = sim.addAccount({ accountId: "acct_tls" })
  if (pem === undefined) return
  front = Bun.serve<Relay>({
    hostname: "127.0.0.1",
    port: 0,
    tls: { key: pem.key, cert: pem.cert },
    fetch: async (request, server) => {
      const headers: Record<string, string> = {}
      request.headers.forEach((value, key) => {
        headers[key] = value
      })
      if (request.headers.get("upgrade")?.toLowerCase() === "websocket") {
        for (const hop of ["upgrade", "connection", "sec-websocket-key", "sec-websocket-version", "host"]) {
          delete headers[hop]
        }
        delete headers["sec-websocket-extensions"]
        return server.upgrade(request, { data: { headers, queue: [] } })
          ? undefined
          : new Response("upgrade failed", { status: 400 })
      }
      const upstream = await fetch(sim.codexEndpoint, { method: "POST", headers, body: await request.arrayBuffer() })
      return new Response(upstream.body, { status: upstream.status, headers: upstream.headers })
    },
    websocket: {
      open(ws) {
        const upstream = new (WebSocket as unknown as new (u: string, o: object) => WebSocket)(sim.wsEndpoint, {
          headers: ws.data.headers,
        })
        ws.data.upstream = upstream
        upstream.onopen = () => {
          for (const text of ws.data.queue.splice(0)) upstream.send(text)
        }
        upstream.onmessage = (event) => ws.send(String(event.data))
        upstream.onclose = (event) => ws.close(event.code === 1005 ? 1000 : event.code, event.reason)
      },
      message(ws, message) {
        const upstream = ws.data.upstream
        if (upstream?.readyState === WebSocket.OPEN) upstream.send(String(message))
        else ws.data.queue.push(String(message))
      },
      close(ws) {
        ws.data.upstream?.close()
      },
    },
  })
  httpsUrl = `https://127.0.0.1:${front.port}/backend-api/codex/responses`
})
afterAll(async () => {
  front?.stop(true)
  await sim.stop()
})

describe("transports over TLS (self-signed)", () => {
  test.skipIf(pem === undefined)("HTTPS: the reply arrives through fetch trusting the test CA", async () => {
    const ca = (pem as Pem).cert
    const tlsFetch = ((url: string, init: RequestInit) =>
      fetch(url, { ...init, tls: { ca } } as RequestInit)) as typeof fetch
    const { events, listener } = recorder()
    const response = await Effect.runPromise(
      Effect.flatMap(resolveHttpOptions({ fetch: tlsFetch }), (http) =>
        sendHttp(makeRequest(httpsUrl, acct), listener, http),
      ),
    )
    const messages = new SseParser().push(await readAll(response.body))
    expect(messages.at(-1)?.event).toBe("response.completed")
    expect(events.at(-1)).toMatchObject({ _tag: "Terminal", outcome: "completed" })
  })

  test.skipIf(pem === undefined)(
    "wss: the native connector derives wss: from https: and streams the reply",
    async () => {
      const scope = Effect.runSync(Scope.make())
      try {
        const { transport } = await Effect.runPromise(
          Scope.provide(scope)(
            makeWebSocketTransport({
              connector: makeNativeConnector({ ca: (pem as Pem).cert }),
              fallbackToHttp: false,
            }),
          ),
        )
        const response = await Effect.runPromise(transport.send(makeRequest(httpsUrl, acct), () => {}))
        expect(response.transport).toBe("websocket")
        const messages = new SseParser().push(await readAll(response.body))
        expect(messages.at(-1)?.event).toBe("response.completed")
        expect(sim.requests.at(-1)?.transport).toBe("ws")
      } finally {
        await Effect.runPromise(Scope.close(scope, Exit.void))
      }
    },
  )

  test.skipIf(pem === undefined)(
    "wss without trusting the certificate falls back to HTTP(S), which fails too",
    async () => {
      const scope = Effect.runSync(Scope.make())
      try {
        const { transport } = await Effect.runPromise(Scope.provide(scope)(makeWebSocketTransport()))
        const error = await Effect.runPromise(Effect.flip(transport.send(makeRequest(httpsUrl, acct), () => {})))
        expect(error._tag).toBe("ConnectFailure")
      } finally {
        await Effect.runPromise(Scope.close(scope, Exit.void))
      }
    },
  )
})
