import { afterAll, beforeAll, expect, test } from "bun:test"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Layer, ManagedRuntime } from "effect"
import { keyOf } from "../src/AccountKey.ts"
import { FileLock } from "../src/FileLock.ts"
import { Store } from "../src/Store.ts"
import { fallbackAccount, tempDir } from "./support/fixture.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.stop()
})

test("N processes race to refresh one account: one refresh, everyone adopts the winner, nobody is logged out", async () => {
  using dir = tempDir()
  const storePath = `${dir.dir}/openai-auth.json`
  const account = sim.addAccount({ accountId: "acct_race", userId: "user_race" })
  const stored = fallbackAccount(account, { expiresAt: Date.now() - 1000 })
  const runtime = ManagedRuntime.make(
    Store.layerAt(storePath).pipe(Layer.provide(FileLock.layer), Layer.provide(Files.layer)),
  )
  await runtime.runPromise(
    Effect.gen(function* () {
      const store = yield* Store
      yield* store.update((doc) => ({ ...doc, accounts: [stored] }))
    }),
  )
  const processes = 6
  const workers = Array.from({ length: processes }, () =>
    Bun.spawn(["bun", `${import.meta.dir}/workers/refresh.ts`, storePath, sim.url, keyOf(stored)], {
      stdout: "pipe",
      stderr: "pipe",
    }),
  )
  const outputs = await Promise.all(
    workers.map(async (w) => {
      const [out, err, code] = await Promise.all([
        new Response(w.stdout).text(),
        new Response(w.stderr).text(),
        w.exited,
      ])
      if (code !== 0) throw new Error(`worker failed: ${err}`)
      return out.trim()
    }),
  )
  const refreshes = sim.refreshes.filter((r) => r.accountId === account.accountId)
  expect(refreshes).toHaveLength(1)
  expect(refreshes[0]?.outcome).toBe("ok")
  expect(new Set(outputs).size).toBe(1)
  expect(outputs[0]).not.toBe(account.tokens.access)
  const doc = await runtime.runPromise(
    Effect.gen(function* () {
      const store = yield* Store
      return yield* store.read
    }),
  )
  expect(doc.accounts[0]?.state).toBe("active")
  await runtime.dispose()
}, 60_000)
