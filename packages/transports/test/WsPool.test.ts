import { describe, expect } from "bun:test"
import { it } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Exit, Scope } from "effect"
import { TestClock } from "effect/testing"
import type { WsConnection } from "../src/WsConnection.ts"
import { WsPool } from "../src/WsPool.ts"

const MIN = 60_000

const fakeConnection = () => {
  const closes: Array<number> = []
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
  return { conn, closes, serverClose: (code: number) => onClose?.(code, "server") }
}

describe("WsPool", () => {
  it.effect("reuses the idle socket of the same (account, session), never another's", () =>
    Effect.gen(function* () {
      const pool = yield* WsPool.make()
      const a = fakeConnection()
      const socket = pool.adopt("acct_a", "s1", "Bearer a", a.conn)
      expect(pool.lease("acct_a", "s1", "Bearer a")).toBe("busy")
      pool.release(socket)
      expect(pool.lease("acct_b", "s1", "Bearer b")).toBeUndefined()
      expect(pool.lease("acct_a", "s2", "Bearer a")).toBeUndefined()
      expect(pool.lease("acct_a", "s1", "Bearer a")).toBe(socket)
    }),
  )

  it.effect("a socket idle for 5 minutes is swept and closed on the Effect clock", () =>
    Effect.gen(function* () {
      const pool = yield* WsPool.make()
      const a = fakeConnection()
      pool.release(pool.adopt("acct_a", "s1", "Bearer a", a.conn))
      yield* TestClock.adjust(4 * MIN)
      expect(pool.size()).toBe(1)
      expect(a.closes).toEqual([])
      yield* TestClock.adjust(MIN + 30_000)
      expect(pool.size()).toBe(0)
      expect(a.closes).toEqual([1000])
    }),
  )

  it.effect("a busy socket is not swept for idleness; a socket 55 minutes old is never handed out", () =>
    Effect.gen(function* () {
      const pool = yield* WsPool.make()
      const a = fakeConnection()
      const socket = pool.adopt("acct_a", "s1", "Bearer a", a.conn)
      yield* TestClock.adjust(10 * MIN)
      expect(pool.size()).toBe(1)
      pool.release(socket)
      // used every 4 minutes: never idle long enough, but it ages
      for (let i = 0; i < 11; i++) {
        yield* TestClock.adjust(4 * MIN)
        const again = pool.lease("acct_a", "s1", "Bearer a")
        expect(again).toBe(socket)
        if (typeof again === "object") pool.release(again)
      }
      // 54 minutes old so far; at 55 it is retired instead of handed out
      yield* TestClock.adjust(MIN)
      expect(pool.lease("acct_a", "s1", "Bearer a")).toBeUndefined()
      expect(a.closes).toEqual([1000])
      expect(pool.size()).toBe(0)
    }),
  )

  it.effect("new credentials replace the socket; a server close forgets it and its chain", () =>
    Effect.gen(function* () {
      const pool = yield* WsPool.make()
      const a = fakeConnection()
      pool.release(pool.adopt("acct_a", "s1", "Bearer old", a.conn))
      expect(pool.lease("acct_a", "s1", "Bearer new")).toBeUndefined()
      expect(a.closes).toEqual([1000])

      const b = fakeConnection()
      const socket = pool.adopt("acct_a", "s1", "Bearer new", b.conn)
      socket.chain = { fieldsKey: "{}", input: [], output: [], responseId: "resp_1" }
      b.serverClose(1001)
      expect(socket.closed).toBe(true)
      expect(socket.chain).toBeUndefined()
      expect(pool.size()).toBe(0)
    }),
  )

  it.effect("a second socket for a busy key is one-off: closed after its response", () =>
    Effect.gen(function* () {
      const pool = yield* WsPool.make()
      const a = fakeConnection()
      const b = fakeConnection()
      pool.adopt("acct_a", "s1", "Bearer a", a.conn)
      const extra = pool.adopt("acct_a", "s1", "Bearer a", b.conn)
      expect(extra.pooled).toBe(false)
      pool.release(extra)
      expect(b.closes).toEqual([1000])
      expect(a.closes).toEqual([])
      expect(pool.size()).toBe(1)
    }),
  )

  it.effect("closing the scope closes every socket", () =>
    Effect.gen(function* () {
      const scope = yield* Scope.make()
      const pool = yield* Scope.provide(scope)(WsPool.make())
      const a = fakeConnection()
      const b = fakeConnection()
      pool.release(pool.adopt("acct_a", "s1", "Bearer a", a.conn))
      pool.adopt("acct_b", "s1", "Bearer b", b.conn)
      yield* Scope.close(scope, Exit.void)
      expect(a.closes).toEqual([1000])
      expect(b.closes).toEqual([1000])
    }),
  )
})
