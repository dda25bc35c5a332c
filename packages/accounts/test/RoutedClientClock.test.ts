/**
 * The routed client's rules with time under TestClock: the simulator answers over real sockets (its clock is
 * the wall clock, so every test first sets the TestClock to `Date.now()`), while every wait, expiry, reset
 * and quota window on our side is judged against the TestClock and moved only by the test.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test"
import type { SimAccount, SimulatorHandle } from "@cortexkit/openai-auth-testkit/Simulator"
import { startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Clock, Context, Deferred, Duration, Effect, Fiber, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { keyOf, MAIN } from "../src/AccountKey.ts"
import { EXPIRY_SKEW_MS } from "../src/Credentials.ts"
import { MAX_BURST_WAIT_MS, RoutedClient } from "../src/RoutedClient.ts"
import type { Threshold } from "../src/Routing.ts"
import { Store } from "../src/Store.ts"
import {
  accountsLayer,
  fallbackAccount,
  HostStore,
  hostRequest,
  hostTokens,
  readAll,
  settingsFor,
  tempDir,
} from "./support/fixture.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.stop()
})

/** one test's accounts: the main login (in the in-memory host store) and two fallbacks (in the store) */
class Env extends Context.Service<
  Env,
  { readonly main: SimAccount; readonly fallbacks: ReadonlyArray<SimAccount>; readonly host: HostStore }
>()("test/RoutedClientClock/Env") {}

const envLayer = Layer.unwrap(
  Effect.gen(function* () {
    // before any service starts: a jump from 0 to now would run their periodic sleeps (the WebSocket pool's
    // sweep) billions of times
    yield* TestClock.setTime(Date.now())
    const id = crypto.randomUUID().slice(0, 8)
    const main = sim.addAccount({ accountId: `acct_main_${id}`, userId: `user_main_${id}` })
    const fallbacks = [0, 1].map((i) => sim.addAccount({ accountId: `acct_fb${i}_${id}`, userId: `user_fb${i}_${id}` }))
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => tempDir()),
      (d) => Effect.sync(() => d[Symbol.dispose]()),
    )
    const host = new HostStore(main)
    return Layer.merge(
      Layer.succeed(Env, { main, fallbacks, host }),
      accountsLayer({ sim, storePath: `${dir.dir}/openai-auth.json`, host }),
    )
  }),
)

const it = testEffect(envLayer)
/** real time for a whole test: sockets, refreshes and fsyncs on a shared, busy machine */
const TIMEOUT = 30_000

const keyOfSim = (a: SimAccount) => keyOf({ id: a.accountId, userId: a.userId })
const responsesFor = (a: SimAccount) =>
  sim.requests.filter((r) => r.accountId === a.accountId && r.path.endsWith("/responses"))

/** the store gets the routing under test (the TestClock already reads the simulator's wall time) */
const setup = (
  options: {
    routing?: "main-first" | "fallback-first"
    active?: (env: Env["Service"]) => string
    killswitch?: (env: Env["Service"]) => Record<string, Threshold>
  } = {},
) =>
  Effect.gen(function* () {
    const env = yield* Env
    const store = yield* Store
    yield* store.update((doc) => ({
      ...doc,
      routing: options.routing ?? "main-first",
      accounts: env.fallbacks.map((a) => fallbackAccount(a)),
      ...(options.active === undefined ? {} : { activeAccount: options.active(env) }),
      ...(options.killswitch === undefined
        ? {}
        : { killswitch: { enabled: true, thresholds: options.killswitch(env) } }),
    }))
    return env
  })

const send = (session: string) =>
  Effect.gen(function* () {
    const client = yield* RoutedClient
    const served = yield* client.send(hostRequest(session), { settings: settingsFor(sim) })
    // the stream is read to its end, so its quota reading has reached the cache
    yield* Effect.promise(() => readAll(served.response.body))
    return served
  })

const attemptsOf = (served: {
  readonly attempts: ReadonlyArray<{ readonly account: string; readonly outcome: string }>
}) => served.attempts.map((a) => `${a.account}:${a.outcome}`)

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
