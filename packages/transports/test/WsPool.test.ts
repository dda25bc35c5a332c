import { describe, expect } from "bun:test"
import { it } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Exit, Scope } from "effect"
import { TestClock } from "effect/testing"
import { ConnectFailure } from "../src/Transport.ts"
import type { WsConnection } from "../src/WsConnection.ts"
import { makeWsPool, type PooledSocket, type SocketKey } from "../src/WsPool.ts"

const MIN = 60_000

/** A connection that records its closes, acquired in the scope the pool gives it (its release is recorded too). */
const fakeConnection = () => {
  const closes: Array<number> = []
  let released = false
  let onClose: ((code: number, reason: string) => void) | undefined
  const conn: WsConnection = {
    status: 101,
    headers: {},
    send: () => {},
    close: (code) => {
      closes.push(code ?? 1000)
    },
    onMessage: () => {},
    onClose: (listener) => {
      onClose = listener
    },
  }
  const connect = Effect.acquireRelease(Effect.succeed(conn), () =>
    Effect.sync(() => {
      released = true
    }),
  )
  return { conn, connect, closes, released: () => released, serverClose: (code: number) => onClose?.(code, "server") }
}

const key = (accountKey: string, sessionKey: string, authorization = `Bearer ${accountKey}`): SocketKey => ({
  accountKey,
  sessionKey,
  authorization,
})

const leased = (socket: PooledSocket | "busy" | undefined) => (typeof socket === "object" ? socket : undefined)

describe("WsPool", () => {
  it.effect("reuses the idle socket of the same (account, session), never another's; one response at a time", () =>
    Effect.gen(function* () {
      const pool = yield* makeWsPool()
      const a = fakeConnection()
      const socket = yield* pool.open(key("acct_a", "s1"), a.connect)
      expect(yield* pool.lease(key("acct_a", "s1"))).toBe("busy")
      pool.release(socket)
      expect(yield* pool.lease(key("acct_b", "s1"))).toBeUndefined()
      expect(yield* pool.lease(key("acct_a", "s2"))).toBeUndefined()
      expect(yield* pool.lease(key("acct_a", "s1"))).toBe(socket)
      expect(yield* pool.lease(key("acct_a", "s1"))).toBe("busy")
    }),
  )

  it.effect("a socket idle for 5 minutes is swept on the Effect clock: closed, its scope released", () =>
    Effect.gen(function* () {
      const pool = yield* makeWsPool()
      const a = fakeConnection()
      pool.release(yield* pool.open(key("acct_a", "s1"), a.connect))
      yield* TestClock.adjust(4 * MIN)
      expect(pool.size()).toBe(1)
      expect(a.closes).toEqual([])
      yield* TestClock.adjust(MIN + 30_000)
      expect(pool.size()).toBe(0)
      expect(a.closes).toEqual([1000])
      expect(a.released()).toBe(true)
    }),
  )

  it.effect("a busy socket is not swept for idleness; a socket 55 minutes old is never handed out", () =>
    Effect.gen(function* () {
      const pool = yield* makeWsPool()
      const a = fakeConnection()
      const socket = yield* pool.open(key("acct_a", "s1"), a.connect)
      yield* TestClock.adjust(10 * MIN)
      expect(pool.size()).toBe(1)
      pool.release(socket)
      // used every 4 minutes: never idle long enough, but it ages
      for (let i = 0; i < 11; i++) {
        yield* TestClock.adjust(4 * MIN)
        const again = leased(yield* pool.lease(key("acct_a", "s1")))
        expect(again).toBe(socket)
        if (again !== undefined) pool.release(again)
      }
      // 54 minutes old so far; at 55 it is retired instead of handed out
      yield* TestClock.adjust(MIN)
      expect(yield* pool.lease(key("acct_a", "s1"))).toBeUndefined()
      expect(a.closes).toEqual([1000])
      expect(a.released()).toBe(true)
      expect(pool.size()).toBe(0)
    }),
  )

  it.effect("new credentials replace the socket; a server close forgets it, its chain and its scope", () =>
    Effect.gen(function* () {
      const pool = yield* makeWsPool()
      const a = fakeConnection()
      pool.release(yield* pool.open(key("acct_a", "s1", "Bearer old"), a.connect))
      expect(yield* pool.lease(key("acct_a", "s1", "Bearer new"))).toBeUndefined()
      expect(a.closes).toEqual([1000])

      const b = fakeConnection()
      const socket = yield* pool.open(key("acct_a", "s1", "Bearer new"), b.connect)
      socket.chain = { fieldsKey: "{}", input: [], output: [], responseId: "resp_1" }
      b.serverClose(1001)
      expect(socket.closed).toBe(true)
      expect(socket.chain).toBeUndefined()
      expect(b.released()).toBe(true)
      expect(pool.size()).toBe(0)
    }),
  )

  it.effect("a socket retired after an error forgets its chain and is never leased again", () =>
    Effect.gen(function* () {
      const pool = yield* makeWsPool()
      const a = fakeConnection()
      const socket = yield* pool.open(key("acct_a", "s1"), a.connect)
      socket.chain = { fieldsKey: "{}", input: [], output: [], responseId: "resp_1" }
      pool.retire(socket, "response failed")
      expect(socket.chain).toBeUndefined()
      expect(a.closes).toEqual([1000])
      expect(yield* pool.lease(key("acct_a", "s1"))).toBeUndefined()
    }),
  )

  it.effect("a second socket for a busy key is one-off: closed after its response", () =>
    Effect.gen(function* () {
      const pool = yield* makeWsPool()
      const a = fakeConnection()
      const b = fakeConnection()
      yield* pool.open(key("acct_a", "s1"), a.connect)
      const extra = yield* pool.open(key("acct_a", "s1"), b.connect)
      expect(extra.pooled).toBe(false)
      pool.release(extra)
      expect(b.closes).toEqual([1000])
      expect(b.released()).toBe(true)
      expect(a.closes).toEqual([])
      expect(pool.size()).toBe(1)
    }),
  )

  it.effect("a failed connect leaves nothing behind", () =>
    Effect.gen(function* () {
      const pool = yield* makeWsPool()
      let released = false
      const failing = Effect.acquireRelease(Effect.void, () =>
        Effect.sync(() => {
          released = true
        }),
      ).pipe(Effect.andThen(Effect.fail(new ConnectFailure({ message: "refused" }))))
      const error = yield* Effect.flip(pool.open(key("acct_a", "s1"), failing))
      expect(error._tag).toBe("ConnectFailure")
      expect(released).toBe(true)
      expect(pool.size()).toBe(0)
    }),
  )

  it.effect("closing the pool's scope closes every socket's scope", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const pool = yield* Scope.provide(scope)(makeWsPool())
      const a = fakeConnection()
      const b = fakeConnection()
      pool.release(yield* pool.open(key("acct_a", "s1"), a.connect))
      yield* pool.open(key("acct_b", "s1"), b.connect)
      yield* Scope.close(scope, Exit.void)
      expect([a.released(), b.released()]).toEqual([true, true])
    }),
  )
})
