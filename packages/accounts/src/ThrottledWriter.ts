/**
 * Coalesced background writes: callers mark "something changed" and return at once; one fiber writes, at most
 * once per interval, and everything marked while it sleeps or writes rides the next write. Used by the
 * store's write-behind (interval 0: one write in flight, the next one right after), the quota cache (5 s) and
 * the state file (5 s).
 *
 * Nothing here ever waits for a write except `flush` and `idle`: an urgent change cuts the sleep short, and
 * one that arrives during a write is written right after it. A failed write keeps the change marked and is
 * retried after `retryMs`, so a locked or corrupt store is not hammered in a loop. On scope close pending
 * changes are flushed, so a process that exits cleanly loses nothing.
 */
import { Clock, Effect, Fiber, Semaphore } from "effect"

export const DEFAULT_THROTTLE_MS = 5_000

export interface ThrottledWriter {
  /** something changed: write within the interval */
  readonly request: Effect.Effect<void>
  /** `request` from plain code (a transport's event listener, a request path that must not wait) */
  readonly requestUnsafe: () => void
  /** something important changed: write now, without waiting for the interval; never waits for the write */
  readonly urgent: Effect.Effect<void>
  readonly urgentUnsafe: () => void
  /** write pending changes now and wait for it (a write in progress is waited for, then one more) */
  readonly flush: Effect.Effect<void>
  /** wait until no write is scheduled or running */
  readonly idle: Effect.Effect<void>
}

export interface ThrottleOptions {
  /** minimum time between two writes (0: write as soon as the previous one is done) */
  readonly intervalMs: number
  /** after a failed write, the next attempt waits this long even when urgent (default: the interval, >= 1 s) */
  readonly retryMs?: number
}

/** `write` may fail: the change stays pending and is retried; its error is the caller's to report. */
export const makeThrottledWriter = Effect.fnUntraced(function* (
  write: Effect.Effect<void, unknown>,
  options: ThrottleOptions | number,
) {
  const { intervalMs, retryMs: retryOption } = typeof options === "number" ? { intervalMs: options } : options
  const retryMs = retryOption ?? Math.max(1_000, intervalMs)
  const runFork = Effect.runForkWith(yield* Effect.context<never>())
  const writing = Semaphore.makeUnsafe(1)
  let dirty = false
  let urgentFlag = false
  let lastStart = Number.NEGATIVE_INFINITY
  /** after a failure: no attempt before this, urgent or not */
  let retryAt = Number.NEGATIVE_INFINITY
  /** true from the moment a loop is forked until it decides, synchronously, that nothing is left */
  let running = false
  let stopping = false
  let loopFiber: Fiber.Fiber<void> | undefined
  let wake: (() => void) | undefined

  const writeOnce = writing.withPermits(1)(
    Effect.gen(function* () {
      if (!dirty) return
      dirty = false
      urgentFlag = false
      lastStart = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(write)
      if (exit._tag === "Failure") {
        dirty = true
        retryAt = (yield* Clock.currentTimeMillis) + retryMs
      }
    }),
  )

  /** sleeps `ms`, or less when an urgent change or a stop arrives */
  const nap = (ms: number) =>
    Effect.race(
      Effect.sleep(ms),
      Effect.callback<void>((resume) => {
        wake = () => {
          wake = undefined
          resume(Effect.void)
        }
        return Effect.sync(() => {
          wake = undefined
        })
      }),
    )

  const loop = Effect.gen(function* () {
    while (true) {
      if (!dirty || stopping) {
        running = false
        return
      }
      const now = yield* Clock.currentTimeMillis
      // an urgent change skips the interval, never the back-off after a failure
      const wait = Math.max(urgentFlag ? 0 : lastStart + intervalMs - now, retryAt - now)
      if (wait > 0) {
        yield* nap(wait)
        continue
      }
      yield* writeOnce
    }
  })

  const start = () => {
    if (running) return
    running = true
    loopFiber = runFork(loop)
  }

  const requestUnsafe = () => {
    dirty = true
    start()
  }
  const urgentUnsafe = () => {
    dirty = true
    urgentFlag = true
    if (running) wake?.()
    else start()
  }

  const stopLoop = Effect.gen(function* () {
    const fiber = loopFiber
    if (!running || fiber === undefined) return
    stopping = true
    wake?.()
    yield* Fiber.await(fiber)
    stopping = false
  })

  const flush = Effect.gen(function* () {
    yield* stopLoop
    yield* writeOnce
    // a change that arrived during the flush (or a failed write) keeps its background writer
    if (dirty) start()
  })

  const idle = Effect.gen(function* () {
    while (running && loopFiber !== undefined) yield* Fiber.await(loopFiber)
  })

  yield* Effect.addFinalizer(() =>
    Effect.gen(function* () {
      yield* stopLoop
      yield* writeOnce
      stopping = true
    }),
  )

  const writer: ThrottledWriter = {
    request: Effect.sync(requestUnsafe),
    requestUnsafe,
    urgent: Effect.sync(urgentUnsafe),
    urgentUnsafe,
    flush,
    idle,
  }
  return writer
})
