import { afterAll, beforeAll, describe, expect } from "bun:test"
import { LiveSettings } from "@cortexkit/openai-auth-accounts/LiveSettings"
import { RoutedClient } from "@cortexkit/openai-auth-accounts/RoutedClient"
import { StateFile } from "@cortexkit/openai-auth-accounts/StateFile"
import { Store } from "@cortexkit/openai-auth-accounts/Store"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { it } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import {
  accountsLayer,
  fallbackAccount,
  HostStore,
  hostRequest,
  readAll,
  settingsFor,
  tempDir,
} from "../../accounts/test/support/fixture.ts"
import { KeepWarm } from "../src/KeepWarm.ts"
import { openCodeSettings } from "../src/OpenCodeHost.ts"
import { WarmerLayer } from "../src/Warmer.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.stop()
})

describe("keep-warm on the real request path", () => {
  it.effect("replays the session's last body on the account that served it, just before eviction", () =>
    Effect.gen(function* () {
      yield* TestClock.setTime(Date.now())
      const dir = tempDir()
      const main = sim.addAccount({ accountId: "acct_warm_main", userId: "u_warm_main" })
      const fallback = sim.addAccount({ accountId: "acct_warm_fb", userId: "u_warm_fb" })
      const settings = settingsFor(sim)
      const accounts = accountsLayer({ sim, storePath: `${dir.dir}/openai-auth.json`, host: new HostStore(main) })
      const env = {
        CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
        CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
        CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
      }
      const live = LiveSettings.layerWith(openCodeSettings(env)).pipe(
        Layer.provideMerge(Layer.mergeAll(accounts, Settings.layer(settings), Logger.layerSilent)),
      )
      const layer = WarmerLayer.pipe(
        Layer.provideMerge(live),
        Layer.provideMerge(StateFile.layerAt(`${dir.dir}/state.json`).pipe(Layer.provide(Files.layer))),
      )
      yield* Effect.gen(function* () {
        const store = yield* Store
        yield* store.update((doc) => ({
          ...doc,
          routing: "fallback-first",
          accounts: [fallbackAccount(fallback)],
          cacheKeep: { enabled: true, subagents: false },
        }))
        const client = yield* RoutedClient
        const keepWarm = yield* KeepWarm
        const served = yield* client.send(hostRequest("ses_warm", "explain the code"), { settings })
        yield* Effect.promise(() => readAll(served.response.body))
        yield* keepWarm.track({
          sessionKey: served.sessionKey,
          account: served.account,
          subagent: false,
          body: served.request.json as Record<string, unknown>,
          model: "gpt-5.5",
        })
        const countFor = (id: string) => sim.requests.filter((r) => r.accountId === id && r.path.endsWith("/responses"))
        yield* TestClock.adjust("4 minutes")
        expect(countFor(fallback.accountId)).toHaveLength(1)
        yield* TestClock.adjust("31 seconds")
        // the warm's HTTP exchange is real I/O: wait (bounded, on the wall clock) until the session counts it
        const deadline = Date.now() + 10_000
        while ((yield* keepWarm.status).tracked[0]?.warms !== 1 && Date.now() < deadline) {
          yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 10)))
        }
        const warms = countFor(fallback.accountId)
        expect(warms).toHaveLength(2)
        expect(countFor(main.accountId)).toHaveLength(0)
        expect(warms[1]?.body).toMatchObject({ store: false, prompt_cache_key: "ses_warm" })
        const status = yield* keepWarm.status
        expect(status.tracked.map((t) => t.warms)).toEqual([1])
        const state = yield* (yield* StateFile).current
        expect(state.keepWarm?.lastWarm?.cachedTokens).toBeGreaterThan(0)
      }).pipe(Effect.provide(layer))
      dir[Symbol.dispose]()
    }),
  )
})
