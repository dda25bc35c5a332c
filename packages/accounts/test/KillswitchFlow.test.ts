/**
 * The killswitch with time under TestClock: quota readings come from the simulator's headers on real
 * responses, and each window's reset is judged against the TestClock. A reading below the threshold gates
 * the account; a reading whose window has reset says nothing any more (fail open); when every account is
 * gated the request fails at once with the earliest reset.
 */
import { describe, expect } from "bun:test"
import type { SimAccount } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Option } from "effect"
import { TestClock } from "effect/testing"
import { MAIN } from "../src/AccountKey.ts"
import { QuotaCache } from "../src/QuotaCache.ts"
import { RoutedClient } from "../src/RoutedClient.ts"
import { attemptsOf, it, keyOfSim, responsesFor, send, setup, sim, TIMEOUT, useSimulator } from "./support/clock.ts"

useSimulator()

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
