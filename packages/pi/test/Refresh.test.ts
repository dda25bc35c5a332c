import { afterAll, beforeAll, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { MAIN } from "@cortexkit/openai-auth-accounts/AccountKey"
import { Credentials } from "@cortexkit/openai-auth-accounts/Credentials"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, ManagedRuntime, Redacted } from "effect"
import lockfile from "proper-lockfile"
import { piClientLayer } from "../src/Client.ts"
import { clientFor, testAgent } from "./support/client.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.stop()
})

const storeMain = (path: string) => (JSON.parse(readFileSync(path, "utf8")) as { main?: { state?: string } }).main

test("our refresh of the main account waits for Pi's lock and adopts what Pi wrote under it", async () => {
  const main = sim.addAccount({ accountId: "acct_lockorder" })
  using agent = testAgent(sim)
  agent.writeMain(main, Date.now() + 10_000)
  // Pi is refreshing: it holds its lock, and writes the new tokens before letting go
  const release = await lockfile.lock(agent.authPath, { retries: 0, stale: 30_000 })
  const runtime = ManagedRuntime.make(piClientLayer(agent.options))
  const ours = runtime.runPromise(
    Effect.gen(function* () {
      return Redacted.value((yield* (yield* Credentials).access(MAIN)).access)
    }),
  )
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
  const renewed = sim.issueTokens(main.accountId)
  agent.writeMain(main, Date.now() + 3_600_000, renewed)
  await release()
  expect(await ours).toBe(renewed.access)
  expect(sim.refreshes.filter((r) => r.accountId === main.accountId)).toHaveLength(0)
  await runtime.dispose()
})

test("Pi's refresh through us: spent once at our issuer, and a refresh token dead for good marks main", async () => {
  const main = sim.addAccount({ accountId: "acct_forpi" })
  using agent = testAgent(sim)
  agent.writeMain(main)
  const client = clientFor(agent)
  const renewed = await client.refreshForPi(main.tokens.refresh)
  if (!renewed.ok) throw new Error(renewed.message)
  expect(renewed.credential.accountId).toBe(main.accountId)
  expect(renewed.credential.refresh).not.toBe(main.tokens.refresh)
  expect(sim.refreshes.filter((r) => r.accountId === main.accountId).map((r) => r.outcome)).toEqual(["ok"])

  // the same (now spent) refresh token again: the issuer says it was reused
  const reused = await client.refreshForPi(main.tokens.refresh)
  expect(reused).toMatchObject({ ok: false, permanent: true })
  expect(storeMain(agent.storePath)?.state).toBe("needs-relogin")

  // a success (here: the new token) cures the mark
  const again = await client.refreshForPi(renewed.credential.refresh)
  expect(again.ok).toBe(true)
  expect(storeMain(agent.storePath)).toBeUndefined()

  // a transient failure is not a verdict on the account
  sim.scriptRefresh(main.accountId, { kind: "status", status: 503 })
  const down = await client.refreshForPi(again.ok ? again.credential.refresh : "")
  expect(down).toMatchObject({ ok: false, permanent: false })
  expect(storeMain(agent.storePath)).toBeUndefined()
  await client.dispose()
})
