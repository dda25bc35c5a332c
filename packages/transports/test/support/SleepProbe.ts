/**
 * The test's `TestClock` with a way to wait until something sleeps on it. Deadlines armed by socket callbacks
 * (a raw connection's watchdogs, the commit point's alarm) start when bytes arrive, not when the test says:
 * a test waits for the sleep it is about to move, then moves the clock, and nothing depends on real time.
 */
import { expect } from "bun:test"
import { Clock, Duration, Effect, type Fiber } from "effect"
import { TestClock } from "effect/testing"

export interface SleepProbe {
  /** the clock to provide to the code under test */
  readonly clock: Clock.Clock
  /** completes once a sleep of `ms` has been registered (one not already waited for) */
  readonly sleeping: (ms: number) => Effect.Effect<void>
}

export const makeSleepProbe: Effect.Effect<SleepProbe> = Effect.clockWith((clock) =>
  Effect.sync(() => {
    const seen: Array<number> = []
    const waiters: Array<{ readonly ms: number; readonly wake: () => void }> = []
    const notify = (ms: number) => {
      const index = waiters.findIndex((w) => w.ms === ms)
      if (index < 0) {
        seen.push(ms)
        return
      }
      const [waiter] = waiters.splice(index, 1)
      waiter?.wake()
    }
    const probe: Clock.Clock = {
      ...clock,
      sleep: (duration) => {
        const sleep = clock.sleep(duration)
        const ms = Duration.toMillis(duration)
        // after the sleep has registered with the TestClock (the sleeping fiber runs to it synchronously)
        return Effect.andThen(
          Effect.sync(() => queueMicrotask(() => notify(ms))),
          sleep,
        )
      },
    }
    const sleeping = (ms: number) =>
      Effect.callback<void>((resume) => {
        const index = seen.indexOf(ms)
        if (index >= 0) {
          seen.splice(index, 1)
          return resume(Effect.void)
        }
        waiters.push({ ms, wake: () => resume(Effect.void) })
      })
    return { clock: probe, sleeping }
  }),
)

/** Runs `effect` with the probe's clock (what it arms, the probe sees). */
export const withProbe =
  (probe: SleepProbe) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(effect, Clock.Clock, probe.clock)

/**
 * Waits for a deadline of `ms` to be armed, moves the clock to 1 ms before it (`fiber` still runs), then onto
 * it: the deadline is neither early nor late.
 */
export const crossDeadline = (probe: SleepProbe, ms: number, fiber: Fiber.Fiber<unknown, unknown>) =>
  Effect.gen(function* () {
    yield* probe.sleeping(ms)
    yield* TestClock.adjust(ms - 1)
    expect(fiber.pollUnsafe()).toBeUndefined()
    yield* TestClock.adjust(1)
  })
