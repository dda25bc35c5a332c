/**
 * Adding the main account again as a fallback, as a user would: logged in to OpenCode with a ChatGPT account,
 * they run the device-code login and sign in with that same account. The login is refused with a clear line
 * and the store is left as it was; a teammate in the same workspace (same account id, another user) is added.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { DeviceFlow } from "@cortexkit/openai-auth-core/DeviceFlow"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { HostIdentity } from "@cortexkit/openai-auth-core/HostIdentity"
import { Http } from "@cortexkit/openai-auth-core/Http"
import { Issuer, TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Layer, Redacted } from "effect"
import { Commands } from "../src/Commands.ts"
import { FileLock } from "../src/FileLock.ts"
import { Store } from "../src/Store.ts"
import { HostStore, tempDir } from "./support/fixture.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ deviceInterval: "0" })
})
afterAll(async () => {
  await sim.stop()
})

const layerFor = (storePath: string, host: HostStore) => {
  const files = Files.layer
  const lock = FileLock.layer.pipe(Layer.provide(files))
  const store = Store.layerAt(storePath).pipe(Layer.provide(Layer.merge(files, lock)))
  const tokens = TokenClient.layer.pipe(Layer.provide(Layer.succeed(Issuer, sim.url)), Layer.provide(Http.layer))
  return Layer.mergeAll(Commands.layer, DeviceFlow.layerNoDeps).pipe(
    Layer.provideMerge(Layer.mergeAll(store, host.layer, tokens, Http.layer)),
  )
}

/** `openai-auth login --headless` / `/openai-account add`: a device-code login, then add the account */
const deviceLoginAndAdd = (label: string) =>
  Effect.gen(function* () {
    const device = yield* DeviceFlow
    const code = yield* device.start({ issuer: sim.url })
    const tokens = yield* device.poll(code)
    return yield* (yield* Commands).addAccount(tokens, label)
  })

describe("adding the main account again as a fallback", () => {
  test("is refused with a clear line and leaves the store alone", async () => {
    using dir = tempDir()
    const storePath = join(dir.dir, "openai-auth.json")
    const main = sim.addAccount({ accountId: "acct_again_main", userId: "user_again_main", email: "me@example.com" })
    const host = new HostStore(main)
    // the line names the host's own login: OpenCode's, Pi's, or (a host that named none) the facade's
    const refusal = async (mainLogin?: { host: string; command: string }) => {
      sim.nextLogin(main.accountId)
      const error = await Effect.runPromise(
        Effect.flip(deviceLoginAndAdd("again")).pipe(
          Effect.provide(layerFor(storePath, host)),
          Effect.provideService(HostIdentity, { originator: "test", userAgent: "test", mainLogin }),
        ),
      )
      expect(error._tag).toBe("CommandRefused")
      return error.message
    }
    expect(await refusal({ host: "OpenCode", command: "/login openai" })).toBe(
      "me@example.com is already the main account (OpenCode's /login openai); log in with another ChatGPT account to add a fallback",
    )
    expect(await refusal({ host: "Pi", command: "/login openai-codex" })).toContain(
      "already the main account (Pi's /login openai-codex)",
    )
    expect(await refusal()).toContain("already the main account (the host's login.browser() or login.device())")
    expect(existsSync(storePath) ? (JSON.parse(readFileSync(storePath, "utf8")).accounts ?? []) : []).toEqual([])
  })

  test("a teammate in the main account's workspace (same account id, another user) is added", async () => {
    using dir = tempDir()
    const storePath = join(dir.dir, "openai-auth.json")
    const main = sim.addAccount({ accountId: "acct_again_team", userId: "user_again_me" })
    // the simulator keeps one user per account id: the teammate's login is the tokens it would return
    const teammate = new TokenSet({
      access: Redacted.make("teammate-access"),
      refresh: Redacted.make("teammate-refresh"),
      expiresAt: Date.now() + 3_600_000,
      accountId: main.accountId,
      userId: "user_again_mate",
    })
    const result = await Effect.runPromise(
      Effect.flatMap(Commands, (c) => c.addAccount(teammate, "mate")).pipe(
        Effect.provide(layerFor(storePath, new HostStore(main))),
      ),
    )
    expect(result.data.added).toBe(true)
    expect(JSON.parse(readFileSync(storePath, "utf8")).accounts.map((a: { userId: string }) => a.userId)).toEqual([
      "user_again_mate",
    ])
  })
})
