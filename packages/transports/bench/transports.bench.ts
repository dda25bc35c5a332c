/**
 * HTTP/SSE vs native and raw WebSocket over loopback against the simulator: time to the first event (the commit) and
 * throughput of a 10,000-delta stream, measured interleaved in the same run, each through the whole transport
 * (commit point, SSE re-encoding for WebSocket). Client-level raw-WebSocket figures live in raw-ws.bench.ts.
 * The floor of the WebSocket streams is measured beside them: the runtime's own `WebSocket` on one open socket,
 * sending the same `response.create` and doing nothing with the frames but waiting for `response.completed`.
 */
import type { Bench } from "@cortexkit/openai-auth-testkit/Bench"
import { atMost, figure, median } from "@cortexkit/openai-auth-testkit/Bench"
import { codexBody, codexHeaders } from "@cortexkit/openai-auth-testkit/SimClient"
import { startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Exit, Scope } from "effect"
import { makeHttpTransport } from "../src/HttpTransport.ts"
import { makeRawConnector } from "../src/RawWebSocket.ts"
import type { TransportRequest, TransportShape } from "../src/Transport.ts"
import { handshakeHeaders, makeWebSocketTransport, websocketUrl } from "../src/WebSocketTransport.ts"
import { createFrame } from "../src/WsChain.ts"
import { nativeConnector } from "../src/WsConnection.ts"

const DELTAS = 10_000
const encoder = new TextEncoder()

const bench: Bench = async () => {
  const sim = await startSimulator()
  const acct = sim.addAccount({ accountId: "acct_bench" })
  const scope = Effect.runSync(Scope.make())
  try {
    const http = await Effect.runPromise(makeHttpTransport())
    const { transport: ws } = await Effect.runPromise(
      Scope.provide(scope)(makeWebSocketTransport({ fallbackToHttp: false, chaining: false })),
    )
    const { transport: raw } = await Effect.runPromise(
      Scope.provide(scope)(
        makeWebSocketTransport({
          fallbackToHttp: false,
          chaining: false,
          kind: "raw-websocket",
          connector: makeRawConnector(),
        }),
      ),
    )
    let n = 0
    const request = (): TransportRequest => {
      // one session: the WS pool reuses its socket (chaining is off, so every turn is a full request)
      const json = codexBody({ prompt_cache_key: "bench", input: [{ role: "user", content: `turn ${n++}` }] })
      return {
        url: sim.codexEndpoint,
        headers: codexHeaders(acct),
        body: encoder.encode(JSON.stringify(json)),
        json,
        accountKey: acct.accountId,
        sessionKey: "bench",
      }
    }
    const drain = async (body: ReadableStream<Uint8Array>): Promise<number> => {
      let bytes = 0
      for await (const chunk of body) bytes += chunk.length
      return bytes
    }
    /** ms to the commit (first output event) and ms for the whole stream */
    const run = async (transport: TransportShape, deltas?: number) => {
      if (deltas !== undefined) sim.script(acct.accountId, { reply: { text: "x", deltas } })
      const start = performance.now()
      const response = await Effect.runPromise(transport.send(request(), () => {}))
      const first = performance.now() - start
      const bytes = await drain(response.body)
      return { first, total: performance.now() - start, bytes }
    }

    // the floor: the runtime's WebSocket alone, one socket, frames only counted
    const bareSocket = await Effect.runPromise(
      Scope.provide(scope)(nativeConnector(websocketUrl(sim.codexEndpoint), handshakeHeaders(codexHeaders(acct)))),
    )
    let frameDone: (() => void) | undefined
    bareSocket.onMessage((text) => {
      if (text.startsWith('{"type":"response.completed"')) frameDone?.()
    })
    const bare: TransportShape = {
      kind: "websocket",
      send: (req) =>
        Effect.promise(async () => {
          const done = new Promise<void>((resolve) => {
            frameDone = resolve
          })
          bareSocket.send(createFrame(req.json))
          await done
          return {
            transport: "websocket" as const,
            status: 101,
            headers: {},
            body: new ReadableStream<Uint8Array>({ start: (c) => c.close() }),
          }
        }),
    }

    const transports = { http, ws, raw, bare } as const
    type Name = keyof typeof transports
    const names = Object.keys(transports) as Array<Name>
    const ttfe: Record<Name, Array<number>> = { http: [], ws: [], raw: [], bare: [] }
    const stream: Record<Name, Array<number>> = { http: [], ws: [], raw: [], bare: [] }
    let bytes = 0
    const gc = (globalThis as { Bun?: { gc: (sync: boolean) => void } }).Bun?.gc
    // rotate which transport goes first and collect garbage before each stream sample (not before the short
    // turns: a forced full collection right before a sub-millisecond sample leaves cold caches), so that neither load drift nor
    // one stream's garbage lands on another's clock; the first rounds warm the JIT and are dropped
    const rounds = async (count: number, deltas: number | undefined, into: Record<Name, Array<number>>) => {
      for (let i = 0; i < count + 4; i++) {
        for (let k = 0; k < names.length; k++) {
          const name = names[(i + k) % names.length] as Name
          if (deltas !== undefined) gc?.(true)
          const r = await run(transports[name], deltas)
          if (i < 4) continue
          into[name].push(deltas === undefined ? r.first : r.total)
          if (name !== "bare") bytes = r.bytes
        }
      }
    }
    // streams first: they also warm every per-frame path, as a long-running process has it
    await rounds(16, DELTAS, stream)
    await rounds(80, undefined, ttfe)
    const perSecond = (ms: number) => DELTAS / (ms / 1000)
    const m = (xs: Array<number>) => median(xs)
    return {
      name: "transports",
      figures: [
        figure("http_first_event_ms", "HTTP: time to first event (median)", m(ttfe.http), "ms"),
        figure("ws_first_event_ms", "native WS: time to first event (median)", m(ttfe.ws), "ms"),
        figure("raw_first_event_ms", "raw WS: time to first event (median)", m(ttfe.raw), "ms"),
        figure("http_10k_events_per_s", "HTTP: 10k-delta stream", perSecond(m(stream.http)), "events/s"),
        figure("ws_10k_events_per_s", "native WS: 10k-delta stream", perSecond(m(stream.ws)), "events/s"),
        figure("raw_10k_events_per_s", "raw WS: 10k-delta stream", perSecond(m(stream.raw)), "events/s"),
        // the runtime's own WebSocket already takes ~1.9x HTTP's time on this stream (one JS event per frame):
        // the transport's target is read against that floor, not against HTTP
        figure("ws_vs_http_stream_ratio", "native WS / HTTP stream time", m(stream.ws) / m(stream.http), "x"),
        figure(
          "bare_ws_10k_events_per_s",
          "the runtime's WebSocket alone (floor): 10k-delta stream",
          perSecond(m(stream.bare)),
          "events/s",
        ),
        figure(
          "bare_ws_vs_http_stream_ratio",
          "the runtime's WebSocket alone / HTTP stream time (floor of the line above)",
          m(stream.bare) / m(stream.http),
          "x",
        ),
        figure(
          "ws_vs_bare_ws_stream_ratio",
          "native WS transport / the runtime's WebSocket alone, stream time",
          m(stream.ws) / m(stream.bare),
          "x",
          atMost(1.5),
        ),
        figure(
          "raw_vs_native_stream_ratio",
          "raw WS / native WS stream time",
          m(stream.raw) / m(stream.ws),
          "x",
          atMost(1),
        ),
        figure(
          "raw_vs_native_first_event_ratio",
          "raw WS / native WS time to first event",
          m(ttfe.raw) / m(ttfe.ws),
          "x",
          atMost(1),
        ),
      ],
      notes: [
        `loopback against the simulator; a 10k-delta body is ${(bytes / 1024).toFixed(0)} KiB of SSE`,
        "the WS figures include re-encoding every frame as SSE and the commit point; HTTP passes bytes through",
        `interleaved rounds, rotating order, GC before stream samples: ${ttfe.http.length} first-event and ${stream.http.length} stream samples per transport`,
      ],
    }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await sim.stop()
  }
}

export default bench
