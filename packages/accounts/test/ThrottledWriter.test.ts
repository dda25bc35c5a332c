/**
 * The coalescing writer behind the store's write-behind, the quota cache and the state file, under the
 * TestClock: callers never wait for a write, changes made during a write ride the next one, an urgent change
 * skips the interval but not the back-off after a failure, and closing the scope writes what is pending.
 */
import { describe, expect } from "bun:test"
import { it } from "@cortexkit/openai-auth-testkit/Test"
import { Deferred, Effect, Exit, Scope } from "effect"
import { TestClock } from "effect/testing"
import { makeThrottledWriter } from "../src/ThrottledWriter.ts"

/** a write that records what it saw; `gate` (when set) holds the write until the test opens it */
const recorder = () => {
  const state = { value: 0, written: [] as Array<number>, gate: undefined as Deferred.Deferred<void> | undefined }
  const fail = { next: 0 }
  const write = Effect.gen(function* () {
    const seen = state.value
    if (state.gate !== undefined) yield* Deferred.await(state.gate)
    if (fail.next > 0) {
      fail.next--
      return yield* Effect.fail("disk full")
    }
    state.written.push(seen)
  })
  return { state, fail, write }
}

const open = (write: Effect.Effect<void, unknown>, intervalMs: number, retryMs?: number) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const writer = yield* makeThrottledWriter(
      write,
      retryMs === undefined ? { intervalMs } : { intervalMs, retryMs },
    ).pipe(Scope.provide(scope))
    return { writer, close: Scope.close(scope, Exit.void) }
  })

describe("ThrottledWriter", () => {
  it.effect("writes the first change at once, then at most once per interval, the newest state each time", () =>
    Effect.gen(function* () {
      const { state, write } = recorder()
      const { writer, close } = yield* open(write, 5_000)
      state.value = 1
      writer.requestUnsafe()
      yield* writer.idle
      expect(state.written).toEqual([1])
      for (const v of [2, 3, 4]) {
        state.value = v
        writer.requestUnsafe()
      }
      yield* TestClock.adjust(4_999)
      expect(state.written).toEqual([1])
      yield* TestClock.adjust(1)
      yield* writer.idle
      expect(state.written).toEqual([1, 4])
      yield* close
    }),
  )

  it.effect("an urgent change never waits for the write in progress; it is written right after it", () =>
    Effect.gen(function* () {
      const { state, write } = recorder()
      const { writer, close } = yield* open(write, 5_000)
      state.gate = yield* Deferred.make<void>()
      state.value = 1
      writer.requestUnsafe()
      yield* Effect.yieldNow
      // the write of 1 is held; an urgent change and a plain one return at once
      state.value = 2
      yield* writer.urgent
      state.value = 3
      yield* writer.request
      expect(state.written).toEqual([])
      yield* Deferred.succeed(state.gate, undefined)
      state.gate = undefined
      yield* writer.idle
      // one more write, with everything changed meanwhile, without waiting out the interval
      expect(state.written).toEqual([1, 3])
      yield* close
    }),
  )

  it.effect("an urgent change cuts the interval short", () =>
    Effect.gen(function* () {
      const { state, write } = recorder()
      const { writer, close } = yield* open(write, 5_000)
      state.value = 1
      writer.requestUnsafe()
      yield* writer.idle
      state.value = 2
      writer.requestUnsafe()
      yield* TestClock.adjust(100)
      expect(state.written).toEqual([1])
      state.value = 3
      writer.urgentUnsafe()
      yield* writer.idle
      expect(state.written).toEqual([1, 3])
      yield* close
    }),
  )

  it.effect("interval 0: back-to-back changes collapse into the write after the one in flight", () =>
    Effect.gen(function* () {
      const { state, write } = recorder()
      const { writer, close } = yield* open(write, 0)
      state.gate = yield* Deferred.make<void>()
      state.value = 1
      writer.requestUnsafe()
      yield* Effect.yieldNow
      for (let v = 2; v <= 50; v++) {
        state.value = v
        writer.requestUnsafe()
      }
      yield* Deferred.succeed(state.gate, undefined)
      state.gate = undefined
      yield* writer.idle
      expect(state.written).toEqual([1, 50])
      yield* close
    }),
  )

  it.effect("a failed write stays pending and is retried after the back-off, even when urgent", () =>
    Effect.gen(function* () {
      const { state, fail, write } = recorder()
      const { writer, close } = yield* open(write, 0, 2_000)
      fail.next = 1
      state.value = 1
      writer.urgentUnsafe()
      yield* Effect.yieldNow
      yield* Effect.yieldNow
      expect(state.written).toEqual([])
      state.value = 2
      writer.urgentUnsafe()
      yield* TestClock.adjust(1_999)
      expect(state.written).toEqual([])
      yield* TestClock.adjust(1)
      yield* writer.idle
      expect(state.written).toEqual([2])
      yield* close
    }),
  )

  it.effect("flush writes at once and waits; closing the scope writes what is pending", () =>
    Effect.gen(function* () {
      const { state, write } = recorder()
      const { writer, close } = yield* open(write, 5_000)
      state.value = 1
      writer.requestUnsafe()
      yield* writer.idle
      state.value = 2
      writer.requestUnsafe()
      yield* writer.flush
      expect(state.written).toEqual([1, 2])
      state.value = 3
      writer.requestUnsafe()
      yield* close
      expect(state.written).toEqual([1, 2, 3])
    }),
  )
})
