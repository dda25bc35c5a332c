/**
 * Quota as the live backend sends it, read end to end over every transport: the simulator renders it as the
 * backend does (SimQuota: retired slots as the `0`-minute marker / `null`, credit flags as `1`/`0`, a usage
 * limit on a socket as a wrapped error frame whose headers carry JSON numbers) and the routed client's quota
 * cache must end up with what a user should see: the newest windows, none that the backend retired.
 */
import { describe, expect } from "bun:test"
import { Effect, Option } from "effect"
import { MAIN } from "../src/AccountKey.ts"
import { QuotaCache } from "../src/QuotaCache.ts"
import { Store } from "../src/Store.ts"
import { attemptsOf, it, keyOfSim, send, setup, sim, TIMEOUT, useSimulator } from "./support/clock.ts"

useSimulator()

const transports: ReadonlyArray<[string, Record<string, string>]> = [
  ["HTTP/SSE", {}],
  ["native WebSocket", { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1" }],
  ["raw WebSocket", { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1", CORTEXKIT_OPENAI_AUTH_RAW_WS: "1" }],
]

const mainQuota = Effect.gen(function* () {
  return Option.getOrUndefined(yield* (yield* QuotaCache).get(MAIN))
})

for (const [name, transport] of transports)
  describe(`quota read from the wire: ${name}`, () => {
    it.effect(
      "newest windows win, retired ones are cleared, credit flags as 1/0",
      () =>
        Effect.gen(function* () {
          const { main } = yield* setup()
          sim.setQuota(main.accountId, { primaryUsedPercent: 40, secondaryUsedPercent: 30, hasCredits: false })
          yield* send("ses_q1", transport)
          let q = yield* mainQuota
          expect([q?.fiveHour?.usedPercent, q?.weekly?.usedPercent]).toEqual([40, 30])

          // the plan loses its weekly window: the backend retires the slot and the old 30 % must not linger
          sim.setQuota(main.accountId, { primaryUsedPercent: 41, secondaryWindowMinutes: 0 })
          yield* send("ses_q1", transport)
          q = yield* mainQuota
          expect([q?.fiveHour?.usedPercent, q?.weekly]).toEqual([41, undefined])

          // every slot retired: nothing left to show
          sim.setQuota(main.accountId, { primaryWindowMinutes: 0 })
          yield* send("ses_q1", transport)
          q = yield* mainQuota
          expect([q?.fiveHour, q?.weekly, q?.otherWindows, q?.mainRetired]).toEqual([undefined, undefined, [], true])

          // the windows come back; credits written as 1/0 in the headers (JSON booleans on the frame)
          sim.setQuota(main.accountId, {
            primaryWindowMinutes: 300,
            secondaryWindowMinutes: 10080,
            primaryUsedPercent: 5,
            secondaryUsedPercent: 6,
            hasCredits: true,
            creditFlags: "digits",
          })
          yield* send("ses_q1", transport)
          q = yield* mainQuota
          expect([q?.fiveHour?.usedPercent, q?.weekly?.usedPercent, q?.mainRetired]).toEqual([5, 6, undefined])
          expect(q?.credits).toEqual(expect.objectContaining({ hasCredits: true, unlimited: false }))
        }),
      TIMEOUT,
    )

    it.effect(
      "a usage limit: the reading from its headers, the account marked spent, the fallback serves",
      () =>
        Effect.gen(function* () {
          const { main, fallbacks } = yield* setup()
          sim.setQuota(main.accountId, { primaryUsedPercent: 70, secondaryUsedPercent: 20 })
          sim.script(main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 900 } })
          const resetFloor = Math.floor(Date.now() / 1000) * 1000 + 900_000
          const served = yield* send("ses_q2", transport)
          expect(attemptsOf(served)).toEqual([`${MAIN}:UsageLimit`, `${keyOfSim(fallbacks[0] ?? main)}:served`])
          const q = yield* mainQuota
          expect([q?.fiveHour?.usedPercent, q?.weekly?.usedPercent]).toEqual([100, 20])
          expect(q?.fiveHour?.resetsAt).toBeGreaterThanOrEqual(resetFloor)
          const doc = yield* (yield* Store).read
          expect(doc.main?.exhaustedUntil).toBeGreaterThanOrEqual(resetFloor)
        }),
      TIMEOUT,
    )
  })

describe("a usage limit the backend words differently (HTTP)", () => {
  // numman-ali fetch-helpers.test.ts "maps usage-limit 404 errors to 429"; ndycode fetch-helpers.test.ts "handles 404
  // with non-JSON body containing usage limit text"
  it.effect(
    "a 404 that says 'usage limit' in plain text: main is marked spent and the fallback serves",
    () =>
      Effect.gen(function* () {
        const { main, fallbacks } = yield* setup()
        sim.script(main.accountId, { fault: { kind: "status", status: 404, body: "usage limit exceeded - try later" } })
        const served = yield* send("ses_q3")
        expect(attemptsOf(served)).toEqual([`${MAIN}:UsageLimit`, `${keyOfSim(fallbacks[0] ?? main)}:served`])
        expect((yield* (yield* Store).read).main?.exhaustedUntil).toBeGreaterThan(Date.now())
      }),
    TIMEOUT,
  )
})
