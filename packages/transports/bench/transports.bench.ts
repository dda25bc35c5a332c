/**
 * HTTP/SSE vs native WebSocket over loopback against the simulator: time to the first event (the commit) and
 * throughput of a 10,000-delta stream, measured interleaved in the same run. Raw-WebSocket figures live in
 * their own bench file.
 */
import type { Bench } from "@cortexkit/openai-auth-testkit/Bench"
import { figure, median } from "@cortexkit/openai-auth-testkit/Bench"
import { codexBody, codexHeaders } from "@cortexkit/openai-auth-testkit/SimClient"
import { startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Exit, Scope } from "effect"
import { makeHttpTransport } from "../src/HttpTransport.ts"
import type { TransportRequest, TransportShape } from "../src/Transport.ts"
import { WebSocketTransport } from "../src/WebSocketTransport.ts"

const DELTAS = 10_000
const encoder = new TextEncoder()

const bench: Bench = async () => {
  const sim = await startSimulator()
  const acct = sim.addAccount({ accountId: "acct_bench" })
  const scope = Effect.runSync(Scope.make())
  try {
    const http = makeHttpTransport()
    const { transport: ws } = await Effect.runPromise(
      Scope.provide(scope)(WebSocketTransport.make({ fallbackToHttp: false, chaining: false })),
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

    const ttfe = { http: [] as Array<number>, ws: [] as Array<number> }
    const stream = { http: [] as Array<number>, ws: [] as Array<number> }
    let bytes = 0
    for (let i = 0; i < 5; i++) {
      await run(http)
      await run(ws)
    }
    for (let i = 0; i < 30; i++) {
      ttfe.http.push((await run(http)).first)
      ttfe.ws.push((await run(ws)).first)
    }
    for (let i = 0; i < 8; i++) {
      const h = await run(http, DELTAS)
      const w = await run(ws, DELTAS)
      stream.http.push(h.total)
      stream.ws.push(w.total)
      bytes = h.bytes
    }
    const perSecond = (ms: number) => DELTAS / (ms / 1000)
    return {
      name: "transports",
      figures: [
        figure("http_first_event_ms", "HTTP: time to first event (median)", median(ttfe.http), "ms"),
        figure("ws_first_event_ms", "native WS: time to first event (median)", median(ttfe.ws), "ms"),
        figure("http_10k_events_per_s", "HTTP: 10k-delta stream", perSecond(median(stream.http)), "events/s"),
        figure("ws_10k_events_per_s", "native WS: 10k-delta stream", perSecond(median(stream.ws)), "events/s"),
        figure("ws_vs_http_stream_ratio", "native WS / HTTP stream time", median(stream.ws) / median(stream.http), "x"),
      ],
      notes: [
        `loopback against the simulator; a 10k-delta body is ${(bytes / 1024).toFixed(0)} KiB of SSE`,
        "the WS figures include re-encoding every frame as SSE and the commit point; HTTP passes bytes through",
      ],
    }
  } finally {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    await sim.stop()
  }
}

export default bench
