/**
 * The killswitch with time under TestClock: quota readings come from the simulator's headers on real
 * responses, and each window's reset is judged against the TestClock. A reading below the threshold gates
 * the account; a reading whose window has reset says nothing any more (fail open); when every account is
 * gated the request fails at once with the earliest reset.
 */
import { afterAll, beforeAll, describe, expect } from "bun:test"
import type { SimAccount, SimulatorHandle } from "@cortexkit/openai-auth-testkit/Simulator"
import { startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Context, Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { keyOf, MAIN } from "../src/AccountKey.ts"
import { QuotaCache } from "../src/QuotaCache.ts"
import { RoutedClient } from "../src/RoutedClient.ts"
import type { Threshold } from "../src/Routing.ts"
import { Store } from "../src/Store.ts"
import {
  accountsLayer,
  fallbackAccount,
  HostStore,
  hostRequest,
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

/** when the cached five-hour window of this account resets (TestClock / wall epoch ms) */
const fiveHourReset = (key: string) =>
  Effect.gen(function* () {
    const reading = yield* (yield* QuotaCache).get(key)
    const resetsAt = Option.getOrUndefined(reading)?.fiveHour?.resetsAt
    if (resetsAt === undefined) throw new Error(`no five-hour reading for ${key}`)
    return resetsAt
  })

describe("killswitch under TestClock", () => {
  it.effect(
    "gates an account below its threshold until its window resets, then lets it through (fail open)",
    () =>
      Effect.gen(function* () {
        const env = yield* setup({ killswitch: () => ({ [MAIN]: { fiveHour: 10, weekly: 0 } }) })
        const fb0 = keyOfSim(env.fallbacks[0] as SimAccount)
        sim.setQuota(env.main.accountId, { primaryUsedPercent: 95, primaryResetAfterSeconds: 900 })
        // nothing known yet: unknown quota never blocks
        expect(attemptsOf(yield* send("ses_ks"))).toEqual([`${MAIN}:served`])
        const resetsAt = yield* fiveHourReset(MAIN)
        expect(resetsAt).toBeGreaterThan(Date.now() + 800_000)

        const selection = yield* (yield* RoutedClient).selection
        expect(selection.skipped.map((s) => [s.account.key, s.reason._tag])).toEqual([[MAIN, "Killswitch"]])
        expect(attemptsOf(yield* send("ses_ks"))).toEqual([`${fb0}:served`])

        yield* TestClock.setTime(resetsAt - 1)
        expect(attemptsOf(yield* send("ses_ks"))).toEqual([`${fb0}:served`])
        expect(responsesFor(env.main)).toHaveLength(1)

        // the reading is from a window that has reset: it says nothing any more
        yield* TestClock.setTime(resetsAt)
        expect(attemptsOf(yield* send("ses_ks"))).toEqual([`${MAIN}:served`])
        expect(responsesFor(env.main)).toHaveLength(2)
      }),
    TIMEOUT,
  )

  it.effect(
    "an account above both thresholds is not gated; a weekly window below its threshold is",
    () =>
      Effect.gen(function* () {
        const env = yield* setup({ killswitch: () => ({ [MAIN]: { fiveHour: 10, weekly: 10 } }) })
        sim.setQuota(env.main.accountId, { primaryUsedPercent: 89, secondaryUsedPercent: 89 })
        expect(attemptsOf(yield* send("ses_above"))).toEqual([`${MAIN}:served`])
        expect(attemptsOf(yield* send("ses_above"))).toEqual([`${MAIN}:served`])
        // a weekly window below its threshold gates too
        sim.setQuota(env.main.accountId, { secondaryUsedPercent: 91 })
        expect(attemptsOf(yield* send("ses_above"))).toEqual([`${MAIN}:served`])
        const fb0 = keyOfSim(env.fallbacks[0] as SimAccount)
        expect(attemptsOf(yield* send("ses_above"))).toEqual([`${fb0}:served`])
      }),
    TIMEOUT,
  )

  it.effect(
    "when every account is gated the request fails at once with the earliest reset, and resumes then",
    () =>
      Effect.gen(function* () {
        const env = yield* setup({ killswitch: () => ({ "*": { fiveHour: 10, weekly: 0 } }) })
        const [fb0, fb1] = env.fallbacks as [SimAccount, SimAccount]
        sim.setQuota(env.main.accountId, { primaryUsedPercent: 95, primaryResetAfterSeconds: 900 })
        sim.setQuota(fb0.accountId, { primaryUsedPercent: 95, primaryResetAfterSeconds: 300 })
        sim.setQuota(fb1.accountId, { primaryUsedPercent: 99, primaryResetAfterSeconds: 600 })
        // each answer brings its account's reading; each reading gates the account for the next request
        expect(attemptsOf(yield* send("ses_all"))).toEqual([`${MAIN}:served`])
        expect(attemptsOf(yield* send("ses_all"))).toEqual([`${keyOfSim(fb0)}:served`])
        expect(attemptsOf(yield* send("ses_all"))).toEqual([`${keyOfSim(fb1)}:served`])
        const earliest = yield* fiveHourReset(keyOfSim(fb0))
        expect(earliest).toBeLessThan(yield* fiveHourReset(keyOfSim(fb1)))
        expect(earliest).toBeLessThan(yield* fiveHourReset(MAIN))

        const sentBefore = sim.requests.length
        const error = yield* Effect.flip(send("ses_all"))
        if (error._tag !== "AllAccountsGated") throw new Error(`expected AllAccountsGated, got ${error._tag}`)
        expect(error.retryAt).toBe(earliest)
        expect(error.message).toContain("killswitch")
        expect(sim.requests.length).toBe(sentBefore)

        yield* TestClock.setTime(earliest - 1)
        expect((yield* Effect.flip(send("ses_all")))._tag).toBe("AllAccountsGated")
        yield* TestClock.setTime(earliest)
        expect(attemptsOf(yield* send("ses_all"))).toEqual([`${keyOfSim(fb0)}:served`])
      }),
    TIMEOUT,
  )
})
