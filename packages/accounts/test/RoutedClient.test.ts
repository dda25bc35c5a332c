import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, ManagedRuntime } from "effect"
import { MAIN } from "../src/AccountKey.ts"
import { toResponse } from "../src/RequestPath.ts"
import { RoutedClient } from "../src/RoutedClient.ts"
import { Store } from "../src/Store.ts"
import {
  accountsLayer,
  fallbackAccount,
  HostStore,
  hostRequest,
  hostTokens,
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

const setup = async (
  options: { main?: boolean; fallbacks?: number; routing?: "main-first" | "fallback-first" } = {},
) => {
  const id = crypto.randomUUID().slice(0, 8)
  const main = sim.addAccount({ accountId: `acct_main_${id}`, userId: `user_main_${id}` })
  const fallbacks = Array.from({ length: options.fallbacks ?? 1 }, (_, i) =>
    sim.addAccount({ accountId: `acct_fb${i}_${id}`, userId: `user_fb${i}_${id}` }),
  )
  const dir = tempDir()
  const host = new HostStore(options.main === false ? undefined : main)
  const runtime = ManagedRuntime.make(accountsLayer({ sim, storePath: `${dir.dir}/openai-auth.json`, host }))
  await runtime.runPromise(
    Effect.gen(function* () {
      const store = yield* Store
      yield* store.update((doc) => ({
        ...doc,
        routing: options.routing ?? "main-first",
        accounts: fallbacks.map((a) => fallbackAccount(a)),
      }))
    }),
  )
  const settings = settingsFor(sim)
  const send = (session: string, text = "hi") =>
    runtime.runPromise(
      Effect.gen(function* () {
        const client = yield* RoutedClient
        return yield* client.send(hostRequest(session, text), { settings })
      }),
    )
  const sendResult = (session: string, pin?: string) =>
    runtime.runPromise(
      Effect.gen(function* () {
        const client = yield* RoutedClient
        return yield* client.send(hostRequest(session), { settings, pin }).pipe(Effect.result)
      }),
    )
  const expireFallbacks = () =>
    runtime.runPromise(
      Effect.gen(function* () {
        const store = yield* Store
        yield* store.update((doc) => ({
          ...doc,
          accounts: doc.accounts.map((a) => ({ ...a, expiresAt: Date.now() - 1000 })),
        }))
      }),
    )
  const readStore = () =>
    runtime.runPromise(
      Effect.gen(function* () {
        const store = yield* Store
        return yield* store.read
      }),
    )
  const requestsFor = (accountId: string) =>
    sim.requests.filter((r) => r.accountId === accountId && r.path.endsWith("/responses"))
  return {
    main,
    fallbacks,
    host,
    send,
    sendResult,
    readStore,
    expireFallbacks,
    requestsFor,
    [Symbol.asyncDispose]: async () => {
      await runtime.dispose()
      dir[Symbol.dispose]()
    },
  }
}

describe("RoutedClient", () => {
  test("the main account serves first, with Codex headers and the rewritten body", async () => {
    await using t = await setup()
    const served = await t.send("ses_main_1")
    expect(served.account).toBe(MAIN)
    expect(await readAll(served.response.body)).toContain("response.completed")
    const [request] = t.requestsFor(t.main.accountId)
    expect(request?.headers["chatgpt-account-id"]).toBe(t.main.accountId)
    expect(request?.headers.authorization).toBe(`Bearer ${t.main.tokens.access}`)
    expect(request?.body).toMatchObject({ store: false, stream: true, prompt_cache_key: "ses_main_1" })
    // the served attempt's wire bytes, for dumps: exactly what the simulator received
    expect(JSON.parse(served.request.body)).toEqual(request?.body as object)
  })

  test("a host login saved without accountId still sends the account id from the token's claims", async () => {
    await using t = await setup()
    t.host.tokens = { ...hostTokens(t.main), accountId: undefined }
    const served = await t.send("ses_no_account_id")
    await readAll(served.response.body)
    expect(served.account).toBe(MAIN)
    expect(served.attempts.map((a) => a.outcome)).toEqual(["served"])
    expect(t.requestsFor(t.main.accountId)[0]?.headers["chatgpt-account-id"]).toBe(t.main.accountId)
  })

  test("a pinned request is served only by that account, or not at all", async () => {
    await using t = await setup()
    const fallbackKey = `${t.fallbacks[0]?.accountId}/${t.fallbacks[0]?.userId}`
    const pinned = await t.sendResult("ses_pin", fallbackKey)
    if (pinned._tag !== "Success") throw new Error("pinned request failed")
    expect(pinned.success.account).toBe(fallbackKey)
    expect(t.requestsFor(t.main.accountId)).toHaveLength(0)
    sim.script(t.fallbacks[0]?.accountId ?? "", { fault: { kind: "usage_limit", resetsInSeconds: 600 } })
    expect((await t.sendResult("ses_pin", fallbackKey))._tag).toBe("Failure")
    const before = sim.requests.length
    const gated = await t.sendResult("ses_pin", fallbackKey)
    expect(gated._tag === "Failure" && gated.failure._tag).toBe("AllAccountsGated")
    expect(sim.requests.length).toBe(before)
  })

  test("fallback-first prefers the fallback accounts", async () => {
    await using t = await setup({ routing: "fallback-first" })
    const served = await t.send("ses_ff")
    expect(served.account).not.toBe(MAIN)
    expect(t.requestsFor(t.main.accountId)).toHaveLength(0)
  })

  test("usage_limit_reached moves to the next account and keeps the main one out until its reset", async () => {
    await using t = await setup()
    sim.script(t.main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 3600 } })
    const first = await t.send("ses_limit")
    expect(first.account).not.toBe(MAIN)
    expect(first.attempts.map((a) => a.outcome)).toEqual(["UsageLimit", "served"])
    await readAll(first.response.body)
    const doc = await t.readStore()
    expect(doc.main?.exhaustedUntil).toBeGreaterThan(Date.now() + 3_500_000)
    const second = await t.send("ses_limit")
    expect(second.attempts.map((a) => a.account)).toEqual([second.account])
    expect(t.requestsFor(t.main.accountId)).toHaveLength(1)
  })

  test("a 401 refreshes once, writes the new tokens back to the host and retries the same account", async () => {
    await using t = await setup()
    const before = sim.refreshes.length
    sim.script(t.main.accountId, { fault: { kind: "status", status: 401 } })
    const served = await t.send("ses_401")
    expect(served.account).toBe(MAIN)
    expect(served.attempts.map((a) => a.outcome)).toEqual(["AuthFailure", "served"])
    expect(sim.refreshes.length - before).toBe(1)
    expect(t.host.writes).toBe(1)
  })

  test("a burst 429 is retried on the same account, not rerouted", async () => {
    await using t = await setup()
    sim.script(t.main.accountId, { fault: { kind: "burst_429", retryAfterSeconds: 0 } })
    const served = await t.send("ses_burst")
    expect(served.account).toBe(MAIN)
    expect(served.attempts.map((a) => a.outcome)).toEqual(["BurstRateLimit", "served"])
  })

  test("403 moves on to the next account", async () => {
    await using t = await setup()
    sim.script(t.main.accountId, { fault: { kind: "status", status: 403 } })
    const served = await t.send("ses_403")
    expect(served.account).not.toBe(MAIN)
  })

  test("a request that is wrong in itself stops at once, no other account is tried", async () => {
    await using t = await setup()
    sim.script(t.main.accountId, {
      fault: { kind: "status", status: 400, body: { error: { code: "context_length_exceeded", message: "too long" } } },
    })
    const result = await t.sendResult("ses_400")
    expect(result._tag).toBe("Failure")
    if (result._tag === "Failure") expect(result.failure._tag).toBe("RequestRefused")
    expect(t.requestsFor(t.fallbacks[0]?.accountId ?? "")).toHaveLength(0)
  })

  test("a stream that fails after output is never replayed on another account", async () => {
    await using t = await setup()
    sim.script(t.main.accountId, { reply: { text: "partial answer", chunks: 4 } })
    sim.script(t.main.accountId, { fault: { kind: "drop_mid_stream", afterDeltas: 2 } })
    await readAll((await t.send("ses_drop_warm")).response.body)
    const served = await t.send("ses_drop")
    expect(served.account).toBe(MAIN)
    await readAll(served.response.body).catch(() => "")
    expect(t.requestsFor(t.fallbacks[0]?.accountId ?? "")).toHaveLength(0)
  })

  test("when every account is out, the request fails at once with the earliest reset", async () => {
    await using t = await setup()
    sim.script(t.main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 7200 } })
    sim.script(t.fallbacks[0]?.accountId ?? "", { fault: { kind: "usage_limit", resetsInSeconds: 600 } })
    const first = await t.sendResult("ses_all")
    expect(first._tag).toBe("Failure")
    const count = sim.requests.length
    const second = await t.sendResult("ses_all")
    expect(sim.requests.length).toBe(count)
    if (second._tag === "Failure" && second.failure._tag === "AllAccountsGated") {
      expect(second.failure.retryAt).toBeGreaterThan(Date.now() + 500_000)
      expect(second.failure.retryAt).toBeLessThan(Date.now() + 700_000)
    } else throw new Error(`expected AllAccountsGated, got ${JSON.stringify(second)}`)
  })

  test("an expired main token is refreshed before the request, once", async () => {
    await using t = await setup()
    t.host.tokens = hostTokens(t.main, Date.now() - 1000)
    const before = sim.refreshes.length
    const served = await t.send("ses_exp")
    expect(served.account).toBe(MAIN)
    expect(sim.refreshes.length - before).toBe(1)
    await t.send("ses_exp")
    expect(sim.refreshes.length - before).toBe(1)
  })

  test("a reused refresh token marks the account as needing a login, once, and routing skips it", async () => {
    await using t = await setup()
    const fb = t.fallbacks[0]
    if (fb === undefined) throw new Error("no fallback")
    // another client spends the fallback's refresh token; our copy is now dead
    const burnt = await fetch(`${sim.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: fb.tokens.refresh,
        client_id: "app_EMoamEEZ73f0CkXaXp7hrann",
      }),
    })
    expect(burnt.status).toBe(200)
    await t.expireFallbacks()
    sim.script(t.main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 60 } })
    const first = await t.sendResult("ses_reused")
    expect(first._tag).toBe("Failure")
    const doc = await t.readStore()
    expect(doc.accounts[0]?.state).toBe("needs-relogin")
    expect(doc.accounts[0]?.needsReloginReason).toBe("RefreshTokenReused")
    const refreshes = sim.refreshes.length
    const second = await t.sendResult("ses_reused")
    expect(second._tag).toBe("Failure")
    expect(sim.refreshes.length).toBe(refreshes)
  })

  test("every account waiting for a login is told apart from a quota wait: a 401 at the request path", async () => {
    await using t = await setup()
    const dead = async (refresh: string | undefined) =>
      fetch(`${sim.url}/oauth/token`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams({
          grant_type: "refresh_token",
          refresh_token: refresh ?? "",
          client_id: "app_EMoamEEZ73f0CkXaXp7hrann",
        }),
      })
    // both refresh tokens are spent elsewhere and both access tokens expired: only new logins help
    expect((await dead(t.main.tokens.refresh)).status).toBe(200)
    expect((await dead(t.fallbacks[0]?.tokens.refresh)).status).toBe(200)
    t.host.tokens = hostTokens(t.main, Date.now() - 1000)
    await t.expireFallbacks()
    for (const session of ["ses_login_1", "ses_login_2"]) {
      // the first request finds out (attempts), the second is refused at selection (skipped)
      const result = await t.sendResult(session)
      if (result._tag !== "Failure" || result.failure._tag !== "AllAccountsGated") throw new Error("expected gated")
      expect(result.failure.blockedBy).toBe("login")
      const response = toResponse(result.failure, Date.now())
      expect(response.status).toBe(401)
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("needs_login")
    }
  })

  test("a token endpoint that fails for now is a 503 to retry, not a usage limit and not a logout", async () => {
    await using t = await setup({ fallbacks: 0 })
    t.host.tokens = hostTokens(t.main, Date.now() - 1000)
    sim.scriptRefresh(t.main.accountId, { kind: "status", status: 503 })
    const result = await t.sendResult("ses_token_down")
    if (result._tag !== "Failure" || result.failure._tag !== "AllAccountsGated") throw new Error("expected gated")
    expect(result.failure.blockedBy).toBe("credentials")
    expect(toResponse(result.failure, Date.now()).status).toBe(503)
    expect((await t.readStore()).main?.state).toBeUndefined()
  })

  test("a quota wait stays the backend's usage-limit answer, with the reset", async () => {
    await using t = await setup({ fallbacks: 0 })
    sim.script(t.main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 600 } })
    await t.sendResult("ses_quota_wait")
    const result = await t.sendResult("ses_quota_wait")
    if (result._tag !== "Failure" || result.failure._tag !== "AllAccountsGated") throw new Error("expected gated")
    expect(result.failure.blockedBy).toBeUndefined()
    const response = toResponse(result.failure, Date.now())
    expect(response.status).toBe(429)
    expect(Number(response.headers.get("retry-after"))).toBeGreaterThan(500)
  })
})
