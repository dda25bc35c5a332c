/**
 * The routed client's rules with time under TestClock: the simulator answers over real sockets (its clock is
 * the wall clock, so every test first sets the TestClock to `Date.now()`), while every wait, expiry, reset
 * and quota window on our side is judged against the TestClock and moved only by the test.
 */
import { describe, expect } from "bun:test"
import type { SimAccount } from "@cortexkit/openai-auth-testkit/Simulator"
import { Clock, Deferred, Duration, Effect, Fiber, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { MAIN } from "../src/AccountKey.ts"
import { EXPIRY_SKEW_MS } from "../src/Credentials.ts"
import { MAX_BURST_WAIT_MS } from "../src/RoutedClient.ts"
import { Store } from "../src/Store.ts"
import {
  attemptsOf,
  type Env,
  it,
  keyOfSim,
  responsesFor,
  send,
  setup,
  sim,
  TIMEOUT,
  useSimulator,
} from "./support/clock.ts"
import { hostTokens } from "./support/fixture.ts"

useSimulator()

/**
 * A clock that reports each sleep it is asked for, on top of the TestClock: the test learns that the client
 * is now waiting (and for how long) without racing it, then moves time itself.
 */
const sleepSpy = Effect.gen(function* () {
  const inner = yield* Effect.clockWith(Effect.succeed)
  const started = yield* Deferred.make<number>()
  const sleeps: Array<number> = []
  const clock: Clock.Clock = {
    currentTimeMillisUnsafe: () => inner.currentTimeMillisUnsafe(),
    currentTimeMillis: inner.currentTimeMillis,
    currentTimeNanosUnsafe: () => inner.currentTimeNanosUnsafe(),
    currentTimeNanos: inner.currentTimeNanos,
    monotonicTimeNanosUnsafe: () => inner.monotonicTimeNanosUnsafe(),
    monotonicTimeNanos: inner.monotonicTimeNanos,
    sleep: (duration) =>
      Effect.suspend(() => {
        const ms = Duration.toMillis(duration)
        sleeps.push(ms)
        Deferred.doneUnsafe(started, Effect.succeed(ms))
        return inner.sleep(duration)
      }),
  }
  return { clock, sleeps, firstSleep: Deferred.await(started) }
})

/** a real-time bound for waiting on the client's progress (I/O happens on real sockets) */
const within = <A, E, R>(ms: number, what: string, effect: Effect.Effect<A, E, R>) =>
  TestClock.withLive(
    effect.pipe(
      Effect.timeoutOrElse({
        duration: Duration.millis(ms),
        orElse: () => Effect.die(new Error(`timed out: ${what}`)),
      }),
    ),
  )

describe("RoutedClient under TestClock", () => {
  for (const [retryAfterSeconds, expectedWait] of [
    [3, 3_000],
    [30, MAX_BURST_WAIT_MS],
  ] as const) {
    it.effect(
      `a burst 429 (retry-after ${retryAfterSeconds} s) waits ${expectedWait} ms, then retries once on the same account`,
      () =>
        Effect.gen(function* () {
          const env = yield* setup()
          sim.script(env.main.accountId, { fault: { kind: "burst_429", retryAfterSeconds } })
          const spy = yield* sleepSpy
          const fiber = yield* Effect.forkChild(send("ses_burst").pipe(Effect.provideService(Clock.Clock, spy.clock)))
          const asked = yield* within(5_000, "the burst wait to start", spy.firstSleep)
          expect(asked).toBe(expectedWait)
          expect(responsesFor(env.main)).toHaveLength(1)
          yield* TestClock.adjust(expectedWait - 1)
          // one millisecond short: still waiting, nothing sent again
          expect(fiber.pollUnsafe()).toBeUndefined()
          expect(responsesFor(env.main)).toHaveLength(1)
          yield* TestClock.adjust(1)
          const served = yield* within(5_000, "the retry", Fiber.join(fiber))
          expect(served.account).toBe(MAIN)
          expect(attemptsOf(served)).toEqual([`${MAIN}:BurstRateLimit`, `${MAIN}:served`])
          expect(responsesFor(env.main)).toHaveLength(2)
          expect(responsesFor(env.fallbacks[0] as SimAccount)).toHaveLength(0)
        }),
      TIMEOUT,
    )
  }

  // issue 13: an overload's server-sent delay (ndycode fetch-helpers.test.ts "marks exact server overload payload as
  // server retry and preserves retry-after") is waited out once on the same account: another account would meet
  // the same busy backend
  it.effect(
    "an overload with retry_after_ms waits that long, then retries once on the same account",
    () =>
      Effect.gen(function* () {
        const env = yield* setup()
        const body = {
          error: {
            type: "service_unavailable_error",
            code: "server_is_overloaded",
            message: "Overloaded",
            retry_after_ms: 1750,
          },
        }
        sim.script(env.main.accountId, { fault: { kind: "status", status: 429, body } })
        const spy = yield* sleepSpy
        const fiber = yield* Effect.forkChild(send("ses_overload").pipe(Effect.provideService(Clock.Clock, spy.clock)))
        expect(yield* within(5_000, "the overload wait to start", spy.firstSleep)).toBe(1750)
        yield* TestClock.adjust(1749)
        expect(fiber.pollUnsafe()).toBeUndefined()
        yield* TestClock.adjust(1)
        const served = yield* within(5_000, "the retry", Fiber.join(fiber))
        expect(attemptsOf(served)).toEqual([`${MAIN}:Transient`, `${MAIN}:served`])
        expect(responsesFor(env.fallbacks[0] as SimAccount)).toHaveLength(0)
      }),
    TIMEOUT,
  )

  it.effect(
    "a second burst 429 on the retry moves on instead of waiting again",
    () =>
      Effect.gen(function* () {
        const env = yield* setup()
        sim.script(env.main.accountId, { fault: { kind: "burst_429", retryAfterSeconds: 1 } })
        sim.script(env.main.accountId, { fault: { kind: "burst_429", retryAfterSeconds: 1 } })
        const spy = yield* sleepSpy
        const fiber = yield* Effect.forkChild(send("ses_burst2").pipe(Effect.provideService(Clock.Clock, spy.clock)))
        yield* within(5_000, "the burst wait to start", spy.firstSleep)
        yield* TestClock.adjust(1_000)
        const served = yield* within(5_000, "the fallback", Fiber.join(fiber))
        const fb0 = keyOfSim(env.fallbacks[0] as SimAccount)
        expect(attemptsOf(served)).toEqual([`${MAIN}:BurstRateLimit`, `${MAIN}:BurstRateLimit`, `${fb0}:served`])
        expect(spy.sleeps.filter((ms) => ms === 1_000)).toHaveLength(1)
      }),
    TIMEOUT,
  )

  it.effect(
    "usage_limit_reached keeps the account out until exactly its reset, and it serves right after",
    () =>
      Effect.gen(function* () {
        const env = yield* setup()
        sim.script(env.main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 600 } })
        const first = yield* send("ses_limit")
        const fb0 = keyOfSim(env.fallbacks[0] as SimAccount)
        expect(attemptsOf(first)).toEqual([`${MAIN}:UsageLimit`, `${fb0}:served`])
        const doc = yield* (yield* Store).read
        const until = doc.main?.exhaustedUntil
        if (until === undefined) throw new Error("main was not marked exhausted")
        // the simulator's resets_at, in whole seconds of wall time
        expect(until % 1000).toBe(0)
        expect(until).toBeGreaterThan(Date.now() + 590_000)
        expect(until).toBeLessThanOrEqual(Date.now() + 600_000)

        yield* TestClock.setTime(until - 1)
        const before = yield* send("ses_limit")
        expect(attemptsOf(before)).toEqual([`${fb0}:served`])
        expect(responsesFor(env.main)).toHaveLength(1)

        yield* TestClock.setTime(until)
        const after = yield* send("ses_limit")
        expect(attemptsOf(after)).toEqual([`${MAIN}:served`])
        expect(responsesFor(env.main)).toHaveLength(2)
      }),
    TIMEOUT,
  )

  for (const [name, routing, active, order] of [
    ["main-first", "main-first", undefined, ["main", "fb0", "fb1"]],
    ["fallback-first", "fallback-first", undefined, ["fb0", "fb1", "main"]],
    ["a switch target", "main-first", "fb1", ["fb1", "main", "fb0"]],
  ] as const) {
    it.effect(
      `${name}: when every account answers 403, each is tried exactly once, in that order`,
      () =>
        Effect.gen(function* () {
          const env = yield* setup({
            routing,
            ...(active === undefined ? {} : { active: (e: Env["Service"]) => keyOfSim(e.fallbacks[1] as SimAccount) }),
          })
          const byName = { main: env.main, fb0: env.fallbacks[0] as SimAccount, fb1: env.fallbacks[1] as SimAccount }
          const keyFor = (n: keyof typeof byName) => (n === "main" ? MAIN : keyOfSim(byName[n]))
          for (const account of Object.values(byName))
            sim.script(account.accountId, { fault: { kind: "status", status: 403 } })
          const error = yield* Effect.flip(send(`ses_403_${name}`))
          if (error._tag !== "RequestRefused") throw new Error(`expected RequestRefused, got ${error._tag}`)
          expect(error.attempts.map((a: { account: string; outcome: string }) => `${a.account}:${a.outcome}`)).toEqual(
            order.map((n) => `${keyFor(n)}:Forbidden`),
          )
          for (const account of Object.values(byName)) expect(responsesFor(account)).toHaveLength(1)
          // and with nothing scripted, the first account in that order serves
          const served = yield* send(`ses_ok_${name}`)
          expect(attemptsOf(served)).toEqual([`${keyFor(order[0])}:served`])
        }),
      TIMEOUT,
    )
  }

  it.effect(
    "a 401 refreshes once and retries; a second 401 moves on to the next account",
    () =>
      Effect.gen(function* () {
        const env = yield* setup()
        const refreshesOf = () => sim.refreshes.filter((r) => r.accountId === env.main.accountId)
        sim.script(env.main.accountId, { fault: { kind: "status", status: 401 } })
        sim.script(env.main.accountId, { fault: { kind: "status", status: 401 } })
        const served = yield* send("ses_401")
        const fb0 = keyOfSim(env.fallbacks[0] as SimAccount)
        expect(attemptsOf(served)).toEqual([`${MAIN}:AuthFailure`, `${MAIN}:AuthFailure`, `${fb0}:served`])
        expect(refreshesOf()).toHaveLength(1)
        expect(env.host.writes).toBe(1)
        const [first, second] = responsesFor(env.main)
        expect(responsesFor(env.main)).toHaveLength(2)
        // the retry carried the refreshed token
        expect(first?.headers.authorization).toBe(`Bearer ${env.main.tokens.access}`)
        expect(second?.headers.authorization).not.toBe(first?.headers.authorization)
      }),
    TIMEOUT,
  )

  it.effect(
    "a token is refreshed before the request once the TestClock reaches its expiry (minus the skew)",
    () =>
      Effect.gen(function* () {
        const env = yield* setup()
        const expiresAt = Date.now() + 3_600_000
        env.host.tokens = hostTokens(env.main, expiresAt)
        const refreshesOf = () => sim.refreshes.filter((r) => r.accountId === env.main.accountId)

        yield* TestClock.setTime(expiresAt - EXPIRY_SKEW_MS - 1)
        const early = yield* send("ses_exp")
        expect(attemptsOf(early)).toEqual([`${MAIN}:served`])
        expect(refreshesOf()).toHaveLength(0)
        expect(responsesFor(env.main)[0]?.headers.authorization).toBe(`Bearer ${env.main.tokens.access}`)

        yield* TestClock.setTime(expiresAt - EXPIRY_SKEW_MS)
        const due = yield* send("ses_exp")
        expect(attemptsOf(due)).toEqual([`${MAIN}:served`])
        expect(refreshesOf()).toHaveLength(1)
        expect(env.host.writes).toBe(1)
        const sent = responsesFor(env.main)[1]?.headers.authorization
        expect(sent).not.toBe(`Bearer ${env.main.tokens.access}`)
        expect(sent).toBe(`Bearer ${env.host.tokens === undefined ? "" : Redacted.value(env.host.tokens.access)}`)
      }),
    TIMEOUT,
  )
})
