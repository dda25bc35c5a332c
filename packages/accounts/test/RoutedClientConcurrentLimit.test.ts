/**
 * Many requests in flight hit the same usage limit at once: every one of them moves on to the fallback and
 * is served, none waits for the others' store writes, and the exhaustion is on disk afterwards.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, ManagedRuntime } from "effect"
import { MAIN } from "../src/AccountKey.ts"
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

describe("RoutedClient under concurrent usage limits", () => {
  test("20 concurrent refusals of main: all served by the fallback, main exhausted on disk once they are done", async () => {
    const id = crypto.randomUUID().slice(0, 8)
    const main = sim.addAccount({ accountId: `acct_main_${id}`, userId: `user_main_${id}` })
    const fallback = sim.addAccount({ accountId: `acct_fb_${id}`, userId: `user_fb_${id}` })
    const dir = tempDir()
    const runtime = ManagedRuntime.make(
      accountsLayer({ sim, storePath: `${dir.dir}/openai-auth.json`, host: new HostStore(main) }),
    )
    try {
      await runtime.runPromise(
        Effect.gen(function* () {
          yield* (yield* Store).update((doc) => ({
            ...doc,
            routing: "main-first",
            accounts: [fallbackAccount(fallback)],
          }))
        }),
      )
      const count = 20
      sim.script(
        main.accountId,
        ...Array.from({ length: count }, () => ({ fault: { kind: "usage_limit" as const, resetsInSeconds: 3600 } })),
      )
      const settings = settingsFor(sim)
      const results = await Promise.all(
        Array.from({ length: count }, (_, i) =>
          runtime.runPromise(
            Effect.gen(function* () {
              const routed = yield* (yield* RoutedClient).send(hostRequest(`ses_conc_${i}`), { settings })
              yield* Effect.promise(() => readAll(routed.response.body))
              return routed
            }),
          ),
        ),
      )
      for (const r of results) {
        expect(r.account).not.toBe(MAIN)
        expect(r.attempts.at(-1)?.outcome).toBe("served")
      }
      // at least the first one met the limit; the mark is on disk when the requests are done
      expect(results.some((r) => r.attempts[0]?.outcome === "UsageLimit")).toBe(true)
      const doc = await runtime.runPromise(Effect.flatMap(Store, (s) => s.read))
      expect(doc.main?.exhaustedUntil).toBeGreaterThan(Date.now() + 3_500_000)
      // a later request skips main without asking it
      const before = sim.requests.filter((r) => r.accountId === main.accountId).length
      const later = await runtime.runPromise(
        Effect.flatMap(RoutedClient, (c) => c.send(hostRequest("ses_conc_later"), { settings })),
      )
      await readAll(later.response.body)
      expect(later.attempts.map((a) => a.outcome)).toEqual(["served"])
      expect(sim.requests.filter((r) => r.accountId === main.accountId).length).toBe(before)
    } finally {
      await runtime.dispose()
      dir[Symbol.dispose]()
    }
  })
})
