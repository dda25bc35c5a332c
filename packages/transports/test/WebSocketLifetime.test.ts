/**
 * The WebSocket transport's control flow on the Effect `Clock`, against the simulator and hostile servers over
 * real sockets: the connect deadline and its HTTP fallback, an abort, a socket that closes right after its
 * 101, and the pool's lifetime (reuse, idle close, max age, a changed token) as a session's turns see it.
 * Time only moves when a test moves the `TestClock`.
 */
import { describe, expect } from "bun:test"
import { it } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { makeRawConnector } from "../src/RawWebSocket.ts"
import type { TransportRequest, TransportShape } from "../src/Transport.ts"
import { makeWebSocketTransport, type WebSocketTransportOptions } from "../src/WebSocketTransport.ts"
import { nativeConnector, type WsConnection, type WsConnector } from "../src/WsConnection.ts"
import { readAll, simRequest, text, useSimulator } from "./HttpTransportFixtures.ts"
import { closePayload, frame, startServer, upgradeResponse } from "./node/hostile.ts"
import { crossDeadline, makeSleepProbe, withProbe } from "./support/SleepProbe.ts"

const env = useSimulator({ accountId: "acct_ws_life", plan: "pro" })

const MIN = 60_000

/** Counts connects and keeps every connection, to see which ones were closed. */
const counting = (inner: WsConnector = nativeConnector) => {
  const opened: Array<{ readonly conn: WsConnection; closed: boolean }> = []
  const connector: WsConnector = (url, headers) =>
    Effect.map(inner(url, headers), (conn) => {
      const entry = { conn, closed: false }
      conn.onClose(() => {
        entry.closed = true
      })
      opened.push(entry)
      return conn
    })
  return { connector, opened }
}

/** Sends one turn and reads its whole answer. */
const turn = (transport: TransportShape, request: TransportRequest) =>
  Effect.flatMap(
    transport.send(request, () => {}),
    (response) =>
      Effect.map(
        Effect.promise(() => readAll(response.body)),
        (body) => ({ transport: response.transport, body: text(body) }),
      ),
  )

const make = (options: WebSocketTransportOptions) =>
  Effect.map(makeWebSocketTransport(options), (made) => made.transport)

/** A server whose every connection gets `script` (never answering, or answering with hostile bytes). */
const serve = (script: Parameters<typeof startServer>[0]) =>
  Effect.acquireRelease(
    Effect.promise(() => startServer(script)),
    (server) => Effect.promise(() => server.close()),
  )

describe("WebSocket transport: connect deadline, fallback, abort", () => {
  it.effect("a connect that never completes times out on the Clock: TransportTimeout(connect), nothing left open", () =>
    Effect.gen(function* () {
      const probe = yield* makeSleepProbe
      let gone!: () => void
      const socketGone = new Promise<void>((resolve) => {
        gone = resolve
      })
      // reads the upgrade request and never answers
      const silent = yield* serve((peer) => {
        peer.socket.on("close", () => gone())
      })
      // the transport's deadlines run on the Clock it is made with
      const transport = yield* withProbe(probe)(
        make({ connector: makeRawConnector(), fallbackToHttp: false, connectTimeoutMs: 15_000 }),
      )
      const request = {
        ...simRequest(env.sim, env.acct, { prompt_cache_key: "life-timeout" }),
        url: silent.url.replace(/^ws:/, "http:"),
      }
      const sending = yield* Effect.forkChild(withProbe(probe)(transport.send(request, () => {})), {
        startImmediately: true,
      })
      yield* crossDeadline(probe, 15_000, sending)
      const error = yield* Effect.flip(Fiber.join(sending))
      expect(error).toMatchObject({ _tag: "TransportTimeout", phase: "connect", afterMs: 15_000 })
      yield* Effect.promise(() => socketGone)
    }),
  )

  it.effect("a timed-out connect falls back to HTTP with the same request", () =>
    Effect.gen(function* () {
      const probe = yield* makeSleepProbe
      const stalled: WsConnector = () => Effect.never
      const transport = yield* withProbe(probe)(make({ connector: stalled, connectTimeoutMs: 15_000 }))
      const sending = yield* Effect.forkChild(
        turn(transport, simRequest(env.sim, env.acct, { prompt_cache_key: "life-fallback" })),
        {
          startImmediately: true,
        },
      )
      yield* probe.sleeping(15_000)
      yield* TestClock.adjust(15_000)
      const answer = yield* Fiber.join(sending)
      expect(answer.transport).toBe("http")
      expect(answer.body).toContain("response.completed")
    }),
  )

  it.effect("the caller's abort during the connect is TransportAborted, never a fallback", () =>
    Effect.gen(function* () {
      const stalled: WsConnector = () => Effect.never
      const transport = yield* make({ connector: stalled })
      const controller = new AbortController()
      const request = simRequest(env.sim, env.acct, { prompt_cache_key: "life-abort" }, { signal: controller.signal })
      const before = env.sim.requests.length
      const sending = yield* Effect.forkChild(
        transport.send(request, () => {}),
        { startImmediately: true },
      )
      controller.abort()
      const error = yield* Effect.flip(Fiber.join(sending))
      expect(error._tag).toBe("TransportAborted")
      expect(env.sim.requests.length).toBe(before)
    }),
  )

  it.effect("a socket closed in the segment of its 101 fails the turn at once, without any time passing", () =>
    Effect.gen(function* () {
      const closing = yield* serve((peer) => {
        peer.socket.write(
          Buffer.concat([Buffer.from(upgradeResponse(peer.request.key)), frame(8, closePayload(1013, "try later"))]),
        )
      })
      const transport = yield* make({ connector: makeRawConnector(), fallbackToHttp: false })
      const request = {
        ...simRequest(env.sim, env.acct, { prompt_cache_key: "life-closed" }),
        url: closing.url.replace(/^ws:/, "http:"),
      }
      const error = yield* Effect.flip(transport.send(request, () => {}))
      expect(error).toMatchObject({ _tag: "PreOutputFailure", failure: { _tag: "Transient" } })
    }),
  )
})

describe("WebSocket transport: the pool's lifetime as a session's turns see it", () => {
  /** A transport that counts its connects, and the next turn of one session over it (full requests). */
  const session = (sessionKey: string) =>
    Effect.gen(function* () {
      const { connector, opened } = counting()
      const transport = yield* make({ connector, chaining: false })
      const next = () => turn(transport, simRequest(env.sim, env.acct, { prompt_cache_key: sessionKey }))
      return { opened, next }
    })

  it.effect(
    "turns of a session reuse one socket; after 5 idle minutes it is closed and the next turn opens another",
    () =>
      Effect.gen(function* () {
        const { opened, next } = yield* session("life-idle")
        yield* next()
        yield* TestClock.adjust(4 * MIN)
        yield* next()
        expect(opened.length).toBe(1)
        // idle from here: the sweeper (every 30 s) closes it once 5 minutes have passed
        yield* TestClock.adjust(5 * MIN + 30_000)
        yield* Effect.promise(() => waitUntil(() => opened[0]?.closed === true))
        const answer = yield* next()
        expect(answer.transport).toBe("websocket")
        expect(opened.length).toBe(2)
      }),
  )

  it.effect(
    "a socket in use every few minutes is replaced once it is 55 minutes old",
    () =>
      Effect.gen(function* () {
        const { opened, next } = yield* session("life-age")
        for (let minute = 0; minute < 55; minute += 5) {
          yield* next()
          expect(opened.length).toBe(1)
          yield* TestClock.adjust(4 * MIN + 59_000)
        }
        // 54 min 49 s old: one more turn still rides it
        yield* next()
        expect(opened.length).toBe(1)
        yield* TestClock.adjust(20_000)
        yield* next()
        expect(opened.length).toBe(2)
        yield* Effect.promise(() => waitUntil(() => opened[0]?.closed === true))
      }),
    20_000,
  )

  it.effect("a refreshed token gets a new socket (and a new chain); the old socket is closed", () =>
    Effect.gen(function* () {
      const { connector, opened } = counting()
      const transport = yield* make({ connector })
      yield* turn(transport, simRequest(env.sim, env.acct, { prompt_cache_key: "life-token" }))
      const refreshed = { ...env.acct, tokens: env.sim.issueTokens(env.acct.accountId) }
      const before = env.sim.requests.length
      const answer = yield* turn(transport, simRequest(env.sim, refreshed, { prompt_cache_key: "life-token" }))
      expect(answer.transport).toBe("websocket")
      expect(opened.length).toBe(2)
      // the new socket starts without a chain: the full input went out
      const sent = env.sim.requests.slice(before).map((r) => r.body as Record<string, unknown>)
      expect(sent.map((b) => b.previous_response_id)).toEqual([undefined])
      yield* Effect.promise(() => waitUntil(() => opened[0]?.closed === true))
    }),
  )
})

/** Polls a condition that real I/O makes true (a close handshake), a turn of the event loop at a time. */
const waitUntil = async (condition: () => boolean): Promise<void> => {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve))
}
