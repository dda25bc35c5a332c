/**
 * No store lock on the request path: a usage-limit refusal moves on to the fallback while another holder has
 * the store's lock, the next request already skips the spent account (this process routes on the mark before
 * it is on disk), and the mark reaches the file once the lock is free.
 */
import { describe, expect } from "bun:test"
import { readFileSync } from "node:fs"
import type { SimAccount } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Exit, Scope } from "effect"
import { MAIN } from "../src/AccountKey.ts"
import { FileLock } from "../src/FileLock.ts"
import { QuotaCache } from "../src/QuotaCache.ts"
import { Store } from "../src/Store.ts"
import { attemptsOf, it, keyOfSim, responsesFor, send, setup, sim, TIMEOUT, useSimulator } from "./support/clock.ts"

useSimulator()

describe("RoutedClient with the store locked elsewhere", () => {
  it.effect(
    "a usage limit moves on at once, routing knows it at once, the file gets the mark once the lock is free",
    () =>
      Effect.gen(function* () {
        const env = yield* setup()
        const store = yield* Store
        const fb0 = keyOfSim(env.fallbacks[0] as SimAccount)
        sim.script(env.main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 3600 } })
        const held = yield* Scope.make()
        yield* (yield* FileLock).acquire(`${store.path}.lock`).pipe(Scope.provide(held))

        const first = yield* send("ses_behind_1")
        expect(attemptsOf(first)).toEqual([`${MAIN}:UsageLimit`, `${fb0}:served`])
        const second = yield* send("ses_behind_2")
        expect(attemptsOf(second)).toEqual([`${fb0}:served`])
        expect(responsesFor(env.main)).toHaveLength(1)
        expect(JSON.parse(readFileSync(store.path, "utf8")).main?.exhaustedUntil).toBeUndefined()

        yield* Scope.close(held, Exit.void)
        yield* (yield* QuotaCache).flush
        const disk = JSON.parse(readFileSync(store.path, "utf8"))
        expect(disk.main.exhaustedUntil).toBeGreaterThan(Date.now() + 3_500_000)
        // the readings of both accounts rode along
        expect(Object.keys(disk.quota).sort()).toEqual([MAIN, fb0].sort())
      }),
    TIMEOUT,
  )
})
