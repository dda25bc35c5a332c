/**
 * Quota as the live backend sends it, read end to end over every transport: the simulator renders it as the
 * backend does (SimQuota: retired slots as the `0`-minute marker / `null`, credit flags as `1`/`0`, a usage
 * limit on a socket as a wrapped error frame whose headers carry JSON numbers) and the routed client's quota
 * cache must end up with what a user should see: the newest windows, none that the backend retired.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, ManagedRuntime, Option } from "effect"
import { MAIN } from "../src/AccountKey.ts"
import { QuotaCache } from "../src/QuotaCache.ts"
import { RoutedClient } from "../src/RoutedClient.ts"
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

const transports: ReadonlyArray<[string, Record<string, string>]> = [
  ["HTTP/SSE", {}],
  ["native WebSocket", { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1" }],
  ["raw WebSocket", { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1", CORTEXKIT_OPENAI_AUTH_RAW_WS: "1" }],
]

const setup = async (env: Record<string, string>) => {
  const id = crypto.randomUUID().slice(0, 8)
  const main = sim.addAccount({ accountId: `acct_q_${id}`, userId: `user_q_${id}` })
  const fallback = sim.addAccount({ accountId: `acct_qfb_${id}`, userId: `user_qfb_${id}` })
  const dir = tempDir()
  const runtime = ManagedRuntime.make(
    accountsLayer({ sim, storePath: `${dir.dir}/openai-auth.json`, host: new HostStore(main) }),
  )
  await runtime.runPromise(
    Effect.gen(function* () {
      const store = yield* Store
      yield* store.update((doc) => ({ ...doc, accounts: [fallbackAccount(fallback)] }))
    }),
  )
  const settings = settingsFor(sim, env)
  let turn = 0
  const send = async () => {
    const served = await runtime.runPromise(
      Effect.gen(function* () {
        return yield* (yield* RoutedClient).send(hostRequest(`ses_q_${id}_${turn++}`), { settings })
      }),
    )
    await readAll(served.response.body)
    return served
  }
  const mainQuota = () =>
    runtime.runPromise(
      Effect.gen(function* () {
        return Option.getOrUndefined(yield* (yield* QuotaCache).get(MAIN))
      }),
    )
  const store = () =>
    runtime.runPromise(
      Effect.gen(function* () {
        return yield* (yield* Store).read
      }),
    )
  return {
    main,
    send,
    mainQuota,
    store,
    [Symbol.asyncDispose]: async () => {
      await runtime.dispose()
      dir[Symbol.dispose]()
    },
  }
}

for (const [name, env] of transports)
  describe(`quota read from the wire: ${name}`, () => {
    test("newest windows win, retired ones are cleared, credit flags as 1/0", async () => {
      await using t = await setup(env)
      sim.setQuota(t.main.accountId, { primaryUsedPercent: 40, secondaryUsedPercent: 30, hasCredits: false })
      await t.send()
      let q = await t.mainQuota()
      expect([q?.fiveHour?.usedPercent, q?.weekly?.usedPercent]).toEqual([40, 30])

      // the plan loses its weekly window: the backend retires the slot and the old 30 % must not linger
      sim.setQuota(t.main.accountId, { primaryUsedPercent: 41, secondaryWindowMinutes: 0 })
      await t.send()
      q = await t.mainQuota()
      expect([q?.fiveHour?.usedPercent, q?.weekly]).toEqual([41, undefined])

      // every slot retired: nothing left to show
      sim.setQuota(t.main.accountId, { primaryWindowMinutes: 0 })
      await t.send()
      q = await t.mainQuota()
      expect([q?.fiveHour, q?.weekly, q?.otherWindows]).toEqual([undefined, undefined, []])
      expect(q?.mainRetired).toBe(true)

      // the windows come back; credits written as 1/0 in the headers (JSON booleans on the frame)
      sim.setQuota(t.main.accountId, {
        primaryWindowMinutes: 300,
        secondaryWindowMinutes: 10080,
        primaryUsedPercent: 5,
        secondaryUsedPercent: 6,
        hasCredits: true,
        creditFlags: "digits",
      })
      await t.send()
      q = await t.mainQuota()
      expect([q?.fiveHour?.usedPercent, q?.weekly?.usedPercent, q?.mainRetired]).toEqual([5, 6, undefined])
      expect(q?.credits).toEqual(expect.objectContaining({ hasCredits: true, unlimited: false }))
    })

    test("a usage limit: the reading from its headers, the account marked spent, the fallback serves", async () => {
      await using t = await setup(env)
      sim.setQuota(t.main.accountId, { primaryUsedPercent: 70, secondaryUsedPercent: 20 })
      sim.script(t.main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 900 } })
      const before = Date.now()
      const served = await t.send()
      expect(served.account).not.toBe(MAIN)
      expect(served.attempts.map((a) => a.outcome)).toEqual(["UsageLimit", "served"])
      const q = await t.mainQuota()
      expect(q?.fiveHour?.usedPercent).toBe(100)
      expect(q?.fiveHour?.resetsAt).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 900_000)
      expect(q?.weekly?.usedPercent).toBe(20)
      const exhaustedUntil = (await t.store()).main?.exhaustedUntil ?? 0
      expect(exhaustedUntil).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 900_000)
    })
  })
