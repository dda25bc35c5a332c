/**
 * Shared by the TestClock suites of the routed client: one simulator per test file, and per test a fresh
 * set of accounts (the main login in an in-memory host store, two fallbacks in a temp store) with every
 * service built on the TestClock.
 */
import { afterAll, beforeAll } from "bun:test"
import { type SimAccount, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { keyOf } from "../../src/AccountKey.ts"
import { RoutedClient } from "../../src/RoutedClient.ts"
import type { Threshold } from "../../src/Routing.ts"
import { Store } from "../../src/Store.ts"
import { accountsLayer, fallbackAccount, HostStore, hostRequest, readAll, settingsFor, tempDir } from "./fixture.ts"

/** the file's simulator (a live binding: set by `useSimulator`'s beforeAll) */
export let sim: SimulatorHandle

export const useSimulator = () => {
  beforeAll(async () => {
    sim = await startSimulator()
  })
  afterAll(async () => {
    await sim.stop()
  })
}

/** one test's accounts: the main login (in the in-memory host store) and two fallbacks (in the store) */
export class Env extends Context.Service<
  Env,
  { readonly main: SimAccount; readonly fallbacks: ReadonlyArray<SimAccount>; readonly host: HostStore }
>()("test/support/clock/Env") {}

export const envLayer = Layer.unwrap(
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

export const it = testEffect(envLayer)
/** real time for a whole test: sockets, refreshes and fsyncs on a shared, busy machine */
export const TIMEOUT = 30_000

export const keyOfSim = (a: SimAccount) => keyOf({ id: a.accountId, userId: a.userId })
export const responsesFor = (a: SimAccount) =>
  sim.requests.filter((r) => r.accountId === a.accountId && r.path.endsWith("/responses"))

/** the store gets the routing under test (the TestClock already reads the simulator's wall time) */
export const setup = (
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

/** `env`: extra settings variables (e.g. the WebSocket transports) */
export const send = (session: string, env: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const client = yield* RoutedClient
    const served = yield* client.send(hostRequest(session), { settings: settingsFor(sim, env) })
    // the stream is read to its end, so its quota reading has reached the cache
    yield* Effect.promise(() => readAll(served.response.body))
    return served
  })

export const attemptsOf = (served: {
  readonly attempts: ReadonlyArray<{ readonly account: string; readonly outcome: string }>
}) => served.attempts.map((a) => `${a.account}:${a.outcome}`)
