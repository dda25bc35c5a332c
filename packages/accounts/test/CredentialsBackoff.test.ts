import { afterAll, beforeAll, describe, expect } from "bun:test"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { it } from "@cortexkit/openai-auth-testkit/Test"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import { keyOf } from "../src/AccountKey.ts"
import { BACKOFF_BASE_MS, Credentials } from "../src/Credentials.ts"
import { Store } from "../src/Store.ts"
import { accountsLayer, fallbackAccount, HostStore, tempDir } from "./support/fixture.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.stop()
})

describe("Credentials after a transient refresh failure", () => {
  it.effect("backs off instead of calling the token endpoint on every request, then tries again", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.now())
      const dir = tempDir()
      const main = sim.addAccount({ accountId: "acct_bo_main", userId: "u_bo_main" })
      const fallback = sim.addAccount({ accountId: "acct_bo_fb", userId: "u_bo_fb" })
      const stored = fallbackAccount(fallback, { expiresAt: Date.now() - 1000 })
      const key = keyOf(stored)
      sim.scriptRefresh(fallback.accountId, { kind: "status", status: 503 })
      const refreshesOf = () => sim.refreshes.filter((r) => r.accountId === fallback.accountId)
      yield* Effect.gen(function* () {
        const store = yield* Store
        yield* store.update((doc) => ({ ...doc, accounts: [stored] }))
        const credentials = yield* Credentials
        const first = yield* Effect.flip(credentials.access(key))
        expect(first._tag).toBe("CredentialsUnavailable")
        expect(refreshesOf()).toHaveLength(1)
        // requests keep coming: none reaches the issuer while the back-off lasts
        for (let i = 0; i < 3; i++) {
          const again = yield* Effect.flip(credentials.access(key))
          expect(again.message).toContain("next refresh attempt in")
        }
        yield* TestClock.adjust(BACKOFF_BASE_MS - 1)
        yield* Effect.flip(credentials.access(key))
        expect(refreshesOf()).toHaveLength(1)
        yield* TestClock.adjust(1)
        const grant = yield* credentials.access(key)
        expect(grant.accountId).toBe(fallback.accountId)
        expect(refreshesOf().map((r) => r.outcome)).toEqual(["transient", "ok"])
        const doc = yield* store.read
        expect(doc.accounts[0]?.state).toBe("active")
      }).pipe(
        Effect.provide(accountsLayer({ sim, storePath: `${dir.dir}/openai-auth.json`, host: new HostStore(main) })),
      )
      dir[Symbol.dispose]()
    }),
  )
})
