/**
 * A host whose store has a lock of its own (Pi's auth.json): the main account's refresh runs inside the
 * host's `exclusive`, reads and writes through what it hands over, and takes our store's lock only inside it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Issuer, type TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { MAIN } from "../src/AccountKey.ts"
import { Credentials, type HostTokens, MainCredentials, type MainCredentialsAccess } from "../src/Credentials.ts"
import { FileLock } from "../src/FileLock.ts"
import { Store } from "../src/Store.ts"
import { hostTokens, tempDir } from "./support/fixture.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.stop()
})

test("the main refresh runs inside the host's exclusive section, through the access it hands over", async () => {
  using dir = tempDir()
  const account = sim.addAccount({ accountId: "acct_exclusive" })
  const log: Array<string> = []
  let tokens: HostTokens = hostTokens(account, Date.now() + 10_000)
  let holding = false
  const held: MainCredentialsAccess = {
    read: Effect.sync(() => {
      log.push(holding ? "held read" : "read outside")
      return Option.some(tokens)
    }),
    write: (t: TokenSet) =>
      Effect.sync(() => {
        log.push(holding ? "held write" : "write outside")
        tokens = { access: t.access, refresh: t.refresh, expiresAt: t.expiresAt, accountId: t.accountId }
      }),
  }
  const host = Layer.succeed(MainCredentials, {
    // outside a refresh, reads come without the host's lock; writes must never come from here
    read: Effect.sync(() => Option.some(tokens)),
    write: () => Effect.die("a refresh must write through the exclusive section"),
    exclusive: (body) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          holding = true
          log.push("host lock")
        }),
        () => body(held),
        () =>
          Effect.sync(() => {
            holding = false
            log.push("host unlock")
          }),
      ),
  })
  const files = Files.layer
  const lock = FileLock.layer.pipe(Layer.provide(files))
  const store = Store.layerAt(`${dir.dir}/openai-auth.json`).pipe(Layer.provide(Layer.merge(files, lock)))
  const runtime = ManagedRuntime.make(
    Credentials.layer.pipe(
      Layer.provide(Layer.mergeAll(store, lock, files, TokenClient.layer, host, Layer.succeed(Issuer, sim.url))),
    ),
  )
  const grant = await runtime.runPromise(
    Effect.gen(function* () {
      return yield* (yield* Credentials).access(MAIN)
    }),
  )
  await runtime.dispose()
  // everything between lock and unlock goes through the held access: the stored tokens are read before the
  // refresh token is spent and again before the new ones are written (the settle step), then written once
  expect(log[0]).toBe("host lock")
  expect(log.at(-1)).toBe("host unlock")
  expect(log.slice(1, -1).every((entry) => entry.startsWith("held"))).toBe(true)
  expect(log.filter((entry) => entry === "held write")).toHaveLength(1)
  expect(log.at(-2)).toBe("held write")
  expect(Redacted.value(grant.access)).toBe(Redacted.value(tokens.access))
  expect(Redacted.value(tokens.refresh)).not.toBe(account.tokens.refresh)
  expect(sim.refreshes.filter((r) => r.accountId === account.accountId).map((r) => r.outcome)).toEqual(["ok"])
})
