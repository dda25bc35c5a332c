/**
 * Deadlines on the Effect `Clock` for code that runs in socket and stream callbacks rather than in a fiber: the
 * watchdogs of a raw WebSocket connection and of the commit point. Such code stamps the time of the last chunk
 * (`now`) and keeps at most one alarm armed, re-arming it when it fires early rather than resetting a timer per
 * chunk. On any `Clock` but the live one an armed alarm is one fiber sleeping on it, so `TestClock` moves it like any
 * `Effect.sleep`, and a cancelled one is that fiber interrupted. On the live `Clock` (whose `sleep` is a
 * `setTimeout`) it is that timer alone: a fiber per arm cost more CPU than the rest of the deadline work.
 */
import { Clock, Context, Duration, Effect, type Fiber } from "effect"

/** the `Clock` a fiber has when nothing provides one (Effect keeps one per runtime as the reference's default) */
const liveClock = (): Clock.Clock => Context.get(Context.empty(), Clock.Clock)
const MAX_TIMER_MS = 2 ** 31 - 1

export interface Alarms {
  /** the Clock they run on: an Effect deadline of the same owner runs on it too (`onClockOf`) */
  readonly clock: Clock.Clock
  /** the Clock's time, in ms */
  readonly now: () => number
  /** calls `fire` once `ms` have passed on the Clock, unless the returned function cancels it first */
  readonly after: (ms: number, fire: () => void) => () => void
}

/**
 * Alarms on a fiber's `Clock`, run with its services (its scheduler included: `TestClock.adjust` then waits for
 * what an alarm it wakes does).
 */
export const alarmsOf = (fiber: Fiber.Fiber<unknown, unknown>): Alarms => {
  const clock = fiber.getRef(Clock.Clock)
  const run = Effect.runForkWith(fiber.context)
  const asleep = (ms: number, fire: () => void) => {
    const sleeper = run(Effect.andThen(clock.sleep(Duration.millis(ms)), Effect.sync(fire)))
    return () => sleeper.interruptUnsafe()
  }
  const timer = (ms: number, fire: () => void) => {
    // past the timer's range Node fires at once: the fiber's sleep splits such a wait
    if (ms > MAX_TIMER_MS) return asleep(ms, fire)
    const handle = setTimeout(fire, ms)
    return () => clearTimeout(handle)
  }
  const after = clock === liveClock() ? timer : asleep
  return {
    clock,
    now: () => clock.currentTimeMillisUnsafe(),
    after: (ms, fire) => after(Math.max(1, ms), fire),
  }
}

/** Alarms on the current fiber's `Clock`. */
export const currentAlarms: Effect.Effect<Alarms> = Effect.withFiber((fiber) => Effect.succeed(alarmsOf(fiber)))

/**
 * Runs `effect` on the `Clock` the alarms run on. A transport's deadlines are its own: they run on the `Clock`
 * it was made with, whatever `Clock` the fiber that sends a request has (a caller timing its own waits sees
 * none of the transport's).
 */
export const onClockOf =
  (alarms: Alarms) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.provideService(effect, Clock.Clock, alarms.clock)
