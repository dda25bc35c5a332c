import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { HostIdentity } from "@cortexkit/openai-auth-core/HostIdentity"
import { Http } from "@cortexkit/openai-auth-core/Http"
import { Issuer } from "@cortexkit/openai-auth-core/OAuth"
import { resolveSettings, Settings } from "@cortexkit/openai-auth-core/Settings"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Layer, Option, Redacted, Result } from "effect"
import { testSource } from "../../core/test/support/settings.ts"
import { Credentials, MainCredentials } from "../src/Credentials.ts"
import { FileLock } from "../src/FileLock.ts"
import { QuotaCache } from "../src/QuotaCache.ts"
import { QuotaPoller } from "../src/QuotaPoller.ts"
import { Store } from "../src/Store.ts"

/** usage polls name the host that made them */
const IDENTITY = { originator: "test-host", userAgent: "test-host/2.0" }

let sim: SimulatorHandle
const root = mkdtempSync(join(tmpdir(), "oa-poller-"))
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.stop()
  rmSync(root, { recursive: true, force: true })
})

const layerFor = (path: string) => {
  const resolved = resolveSettings(
    testSource({
      CORTEXKIT_OPENAI_AUTH_FILE: path,
      CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
      CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
    }),
    undefined,
    { tmpDir: root, homeDir: root },
  )
  if (Result.isFailure(resolved)) throw new Error(resolved.failure.message)
  const main = sim.addAccount({ accountId: "acct_main", plan: "pro" })
  sim.setQuota("acct_main", { primaryUsedPercent: 12, secondaryUsedPercent: 34 })
  const host = Layer.succeed(MainCredentials, {
    read: Effect.succeed(
      Option.some({
        access: Redacted.make(main.tokens.access),
        refresh: Redacted.make(main.tokens.refresh),
        expiresAt: Date.now() + 3_600_000,
        accountId: "acct_main",
      }),
    ),
    write: () => Effect.void,
  })
  const store = Store.layerAt(path).pipe(Layer.provideMerge(FileLock.layer), Layer.provideMerge(Files.layer))
  const credentials = Credentials.layer.pipe(
    Layer.provideMerge(TokenClient.layer),
    Layer.provideMerge(host),
    Layer.provideMerge(store),
  )
  return QuotaPoller.layer.pipe(
    Layer.provideMerge(QuotaCache.layer),
    Layer.provideMerge(Http.layer),
    Layer.provideMerge(Settings.layer(resolved.success)),
    Layer.provideMerge(credentials),
    Layer.provideMerge(Layer.succeed(Issuer, sim.url)),
    Layer.provideMerge(Layer.succeed(HostIdentity, IDENTITY)),
  )
}

describe("QuotaPoller", () => {
  test("polls main and every fallback; one failing account is reported, the others still land", async () => {
    const good = sim.addAccount({ accountId: "acct_good", plan: "plus" })
    sim.setQuota("acct_good", { primaryUsedPercent: 56, secondaryUsedPercent: 78 })
    const path = join(root, "case-1", "openai-auth.json")
    mkdirSync(join(path, ".."), { recursive: true })
    const now = Date.now()
    writeFileSync(
      path,
      JSON.stringify({
        version: 1,
        webSockets: true,
        accounts: [
          {
            id: "acct_good",
            userId: good.userId,
            label: "good",
            access: good.tokens.access,
            refresh: good.tokens.refresh,
            expiresAt: now + 3_600_000,
            addedAt: now,
          },
          // a token the server rejects and a refresh token it never issued
          {
            id: "acct_bad",
            label: "bad",
            access: "bogus",
            refresh: "bogus-refresh",
            expiresAt: now + 3_600_000,
            addedAt: now,
          },
        ],
      }),
    )
    const goodKey = `acct_good/${good.userId}`
    const program = Effect.gen(function* () {
      const poller = yield* QuotaPoller
      const outcomes = yield* poller.pollAll
      const cache = yield* QuotaCache
      return { outcomes, cached: yield* cache.all }
    })
    const before = sim.requests.length
    const { outcomes, cached } = await Effect.runPromise(program.pipe(Effect.provide(layerFor(path))))

    expect(outcomes.map((o) => [o.key, o.ok])).toEqual([
      ["main", true],
      [goodKey, true],
      ["acct_bad", false],
    ])
    const bad = outcomes[2]
    expect(bad?.ok === false && bad.reason).toBe("NeedsRelogin")
    expect(cached.get("main")?.fiveHour?.usedPercent).toBe(12)
    expect(cached.get("main")?.weekly?.usedPercent).toBe(34)
    expect(cached.get(goodKey)?.fiveHour?.usedPercent).toBe(56)
    expect(cached.has("acct_bad")).toBe(false)

    // persisted for the TUI and the CLI, the user's settings untouched, the bad account flagged
    const disk = JSON.parse(readFileSync(path, "utf8"))
    expect(disk.quota.main.fiveHour.usedPercent).toBe(12)
    expect(disk.quota[goodKey].weekly.usedPercent).toBe(78)
    expect(disk.webSockets).toBe(true)
    expect(disk.accounts[1].state).toBe("needs-relogin")

    const usage = sim.requests.slice(before).filter((r) => r.path === "/backend-api/wham/usage")
    const main = usage.find((r) => r.accountId === "acct_main")
    expect(main?.headers.authorization).toStartWith("Bearer ")
    expect(main?.headers["chatgpt-account-id"]).toBe("acct_main")
    expect(main?.headers["user-agent"]).toBe(IDENTITY.userAgent)
    expect(usage.find((r) => r.accountId === "acct_good")?.headers["chatgpt-account-id"]).toBe("acct_good")
  })
})
