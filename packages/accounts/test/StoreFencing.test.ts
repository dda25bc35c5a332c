/**
 * A writer whose lock was broken must not write. Real processes: one is stopped with SIGSTOP while it holds
 * the store lock (inside its update function, or waiting for the issuer's answer to a refresh), another
 * breaks the lock once it went silent for the stale limit and writes, then the first one is continued with
 * SIGCONT. Without the fence its stale document lands over the other's write: a setting is lost, a spent
 * refresh token is written back (the next refresh of that account is `refresh_token_reused`), or an account
 * whose new tokens it holds stays marked "needs re-login".
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Redacted } from "effect"
import { keyOf } from "../src/AccountKey.ts"
import { fallbackAccount, tempDir } from "./support/fixture.ts"
import { startWorker } from "./support/process.ts"

const workers = join(import.meta.dir, "workers")
// short enough to keep the test quick, long enough that a loaded machine never misses three heartbeats of a
// holder that is running
const STALE_MS = "2500"

let sim: SimulatorHandle
const root = tempDir("oa-fence-")
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.stop()
  root[Symbol.dispose]()
})

let cases = 0
const storeIn = () => {
  const dir = join(root.dir, `case-${++cases}`)
  return { dir, store: join(dir, "openai-auth.json"), go: join(dir, "go") }
}

interface RawAccount {
  readonly id: string
  readonly refresh: string
  readonly access: string
  readonly state?: string
}
const readStore = (path: string) =>
  JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown> & { accounts: Array<RawAccount> }

describe("a writer paused inside the lock, then continued after another broke it", () => {
  test("its update runs again on the current document: neither write is lost", async () => {
    const { dir, store, go } = storeIn()
    mkdirSync(dir, { recursive: true })
    writeFileSync(store, `${JSON.stringify({ version: 1, routing: "main-first" })}\n`, { mode: 0o600 })
    const paused = startWorker(join(workers, "paused-writer.ts"), [store, "first", "from-paused", go, STALE_MS])
    await paused.line(/^inside 1$/)
    paused.child.kill("SIGSTOP")
    writeFileSync(go, "")
    // the second writer waits until the silent holder's lock is stale, breaks it and writes
    const other = startWorker(join(workers, "paused-writer.ts"), [store, "second", "from-other", go, STALE_MS])
    expect(await other.finished).toEqual({ code: 0, stderr: "" })
    expect(other.lines).toContain("done 1")
    expect(readStore(store).second).toBe("from-other")

    paused.child.kill("SIGCONT")
    expect(await paused.finished).toEqual({ code: 0, stderr: "" })
    // fenced once, run again on the document that holds the other's write
    expect(paused.lines).toEqual(["inside 1", "inside 2", "done 2"])
    const final = readStore(store)
    expect({ first: final.first, second: final.second, routing: final.routing }).toEqual({
      first: "from-paused",
      second: "from-other",
      routing: "main-first",
    })
  }, 180_000)
})

/**
 * The issuer behind a proxy that, for one refresh token, forwards the request (so the issuer rotates it) and
 * then holds the answer until released: the worker that sent it is inside the store lock at that moment.
 */
const holdingIssuer = (holdRefresh: string) => {
  let markHeld: () => void = () => {}
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => {
    markHeld = resolve
  })
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      const url = new URL(request.url)
      const body = request.method === "GET" ? undefined : await request.text()
      const answer = await fetch(`${sim.url}${url.pathname}${url.search}`, {
        method: request.method,
        headers: { "content-type": request.headers.get("content-type") ?? "application/x-www-form-urlencoded" },
        body,
      })
      const bytes = await answer.arrayBuffer()
      if (url.pathname === "/oauth/token" && new URLSearchParams(body ?? "").get("refresh_token") === holdRefresh) {
        markHeld()
        await released
      }
      return new Response(bytes, { status: answer.status, headers: { "content-type": "application/json" } })
    },
  })
  return { url: `http://127.0.0.1:${server.port}`, held, release, stop: () => server.stop(true) }
}

/** refreshes `refresh` once at the simulator: what a later refresh of the stored token would meet */
const refreshOutcome = (refresh: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const client = yield* TokenClient
      return yield* client
        .refresh(Redacted.make(refresh), { issuer: sim.url })
        .pipe(Effect.match({ onFailure: (e) => e._tag, onSuccess: () => "ok" }))
    }).pipe(Effect.provide(TokenClient.layer)),
  )

/**
 * Starts a refresh of `pausedKey` through an issuer that holds its answer, stops that process with SIGSTOP
 * once the issuer has rotated the token (the process is inside the store lock, waiting for the answer), lets
 * the answer go, and starts another refresh of `otherKey` that breaks the silent holder's lock.
 */
const pauseRefreshThenRun = async (store: string, heldRefresh: string, pausedKey: string, otherKey: string) => {
  const issuer = holdingIssuer(heldRefresh)
  const paused = startWorker(join(workers, "refresh.ts"), [store, issuer.url, pausedKey, STALE_MS])
  await issuer.held
  paused.child.kill("SIGSTOP")
  issuer.release()
  const other = startWorker(join(workers, "refresh.ts"), [store, issuer.url, otherKey, STALE_MS])
  return { issuer, paused, other, otherDone: await other.finished }
}

describe("a refresh paused inside the lock", () => {
  const setup = (name: string) => {
    const { dir, store } = storeIn()
    const x = sim.addAccount({ accountId: `acct_fx_${name}`, userId: `user_fx_${name}` })
    const y = sim.addAccount({ accountId: `acct_fy_${name}`, userId: `user_fy_${name}` })
    const expired = Date.now() - 1_000
    const raw = (a: typeof x) => ({
      ...fallbackAccount(a, { expiresAt: expired }),
      access: a.tokens.access,
      refresh: a.tokens.refresh,
    })
    mkdirSync(dir, { recursive: true })
    writeFileSync(store, `${JSON.stringify({ version: 1, accounts: [raw(x), raw(y)] }, null, 2)}\n`, { mode: 0o600 })
    return { store, x, y, xKey: keyOf(fallbackAccount(x)), yKey: keyOf(fallbackAccount(y)) }
  }

  test("another account refreshed meanwhile: its new token is not overwritten with the spent one", async () => {
    const { store, x, y, xKey, yKey } = setup("other")
    const { issuer, paused, otherDone } = await pauseRefreshThenRun(store, y.tokens.refresh, yKey, xKey)
    try {
      expect(otherDone).toMatchObject({ code: 0 })
      const afterOther = readStore(store).accounts.find((a) => a.id === x.accountId)
      expect(afterOther?.refresh).not.toBe(x.tokens.refresh)

      paused.child.kill("SIGCONT")
      expect(await paused.finished).toMatchObject({ code: 0 })
      expect(await paused.line(/^eyJ/)).toMatch(/^eyJ/)
      const final = readStore(store).accounts
      const fx = final.find((a) => a.id === x.accountId)
      const fy = final.find((a) => a.id === y.accountId)
      // X keeps the token the other process got; Y has the paused one's
      expect(fx?.refresh).toBe(afterOther?.refresh)
      expect(fy?.refresh).not.toBe(y.tokens.refresh)
      expect([fx?.state, fy?.state]).toEqual(["active", "active"])
      const spent = sim.refreshes.filter((r) => r.accountId === x.accountId || r.accountId === y.accountId)
      expect(spent.map((r) => r.outcome)).toEqual(["ok", "ok"])
      // both stored refresh tokens are live at the issuer
      expect(await refreshOutcome(fx?.refresh ?? "")).toBe("ok")
      expect(await refreshOutcome(fy?.refresh ?? "")).toBe("ok")
    } finally {
      issuer.stop()
    }
  }, 180_000)

  test("the same account was refused meanwhile (its token already spent): the paused one's new tokens win", async () => {
    const { store, y, yKey } = setup("same")
    // the other process spends the same token: the issuer says reused, and it marks the account
    const { issuer, paused, other, otherDone } = await pauseRefreshThenRun(store, y.tokens.refresh, yKey, yKey)
    try {
      expect(otherDone.code).toBe(1)
      expect(other.lines.join("\n")).toContain("NeedsRelogin")
      expect(readStore(store).accounts.find((a) => a.id === y.accountId)?.state).toBe("needs-relogin")

      paused.child.kill("SIGCONT")
      expect(await paused.finished).toMatchObject({ code: 0 })
      const fy = readStore(store).accounts.find((a) => a.id === y.accountId)
      expect(fy?.state).toBe("active")
      expect(fy?.refresh).not.toBe(y.tokens.refresh)
      expect(sim.refreshes.filter((r) => r.accountId === y.accountId).map((r) => r.outcome)).toEqual(["ok", "reused"])
      expect(await refreshOutcome(fy?.refresh ?? "")).toBe("ok")
    } finally {
      issuer.stop()
    }
  }, 180_000)
})
