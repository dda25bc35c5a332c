import { expect, test } from "bun:test"
import { MAIN } from "@cortexkit/openai-auth-accounts/AccountKey"
import { Credentials } from "@cortexkit/openai-auth-accounts/Credentials"
import { Effect, ManagedRuntime, Redacted } from "effect"
import { piClientLayer } from "../../src/Client.ts"
import { baseArgs, makeSandbox, readJson, responsesFor, useNetwork, writePiAuth } from "./harness.ts"

const setup = useNetwork()

test("two pi processes find the main token about to expire: one refresh, both answered, nobody logged out", async () => {
  const main = setup.sim.addAccount({ accountId: "acct_pi_race", userId: "user_pi_race" })
  using box = makeSandbox(setup.net)
  // a minute left: Pi refreshes when less than five are (pi-ai auth/resolve.js)
  writePiAuth(box, main, { expires: Date.now() + 60_000 })
  const args = [...(await baseArgs()), "-p", "--model", "openai-codex/gpt-6-sol"]
  const [a, b] = await Promise.all([box.run([...args, "first"]), box.run([...args, "second"])])
  expect(a.stdout).toContain("Hello from the Codex simulator")
  expect(b.stdout).toContain("Hello from the Codex simulator")
  expect([a.code, b.code]).toEqual([0, 0])

  // the refresh went to our issuer (Pi's own would have gone to auth.openai.com), once
  const refreshes = setup.sim.refreshes.filter((r) => r.accountId === main.accountId)
  expect(refreshes.map((r) => r.outcome)).toEqual(["ok"])
  const stored = readJson(box.authPath)["openai-codex"] as Record<string, unknown>
  expect(stored.refresh).not.toBe(main.tokens.refresh)
  expect(stored.access).not.toBe(main.tokens.access)
  expect(stored.expires as number).toBeGreaterThan(Date.now() + 30 * 60_000)
  expect(stored.accountId).toBe(main.accountId)
  // both requests carried the new token
  const tokens = responsesFor(setup.sim, main.accountId).map((r) => r.headers.authorization)
  expect(tokens).toEqual([`Bearer ${stored.access}`, `Bearer ${stored.access}`])
  expect(setup.net.outsideAttempts()).toBe(0)
}, 120_000)

test("a refresh token used up elsewhere leaves the main account needing a login, and the turn says so", async () => {
  const main = setup.sim.addAccount({ accountId: "acct_pi_dead", userId: "user_pi_dead" })
  using box = makeSandbox(setup.net)
  writePiAuth(box, main, { expires: Date.now() + 60_000 })
  // someone else spent it first
  setup.sim.scriptRefresh(main.accountId, { kind: "invalidated" })
  const result = await box.run([...(await baseArgs()), "-p", "--model", "openai-codex/gpt-6-sol", "hello"])
  expect(result.code).toBe(1)
  expect(`${result.stdout}${result.stderr}`).toContain("main needs a new login")
  expect(`${result.stdout}${result.stderr}`).toContain("/login openai-codex")
  expect(responsesFor(setup.sim, main.accountId)).toHaveLength(0)
  const store = readJson(box.storePath) as { main?: { state?: string } }
  expect(store.main?.state).toBe("needs-relogin")
}, 120_000)

test("pi and the libraries' own refresh (what the openai-auth CLI runs) race for the main account: one refresh", async () => {
  const main = setup.sim.addAccount({ accountId: "acct_pi_cli", userId: "user_pi_cli" })
  using box = makeSandbox(setup.net)
  // 30 s left: inside both Pi's window (5 min) and ours (60 s), so both sides set out to refresh
  writePiAuth(box, main, { expires: Date.now() + 30_000 })
  const outside = ManagedRuntime.make(piClientLayer({ env: box.env, authPath: box.authPath }))
  const ours = outside.runPromise(
    Effect.gen(function* () {
      return Redacted.value((yield* (yield* Credentials).access(MAIN)).access)
    }),
  )
  const [pi, token] = await Promise.all([
    box.run([...(await baseArgs()), "-p", "--model", "openai-codex/gpt-6-sol", "hi"]),
    ours,
  ])
  await outside.dispose()
  expect(pi.stdout).toContain("Hello from the Codex simulator")
  const refreshes = setup.sim.refreshes.filter((r) => r.accountId === main.accountId)
  expect(refreshes.map((r) => r.outcome)).toEqual(["ok"])
  const stored = readJson(box.authPath)["openai-codex"] as Record<string, unknown>
  expect(token).toBe(stored.access as string)
  expect(responsesFor(setup.sim, main.accountId).map((r) => r.headers.authorization)).toEqual([
    `Bearer ${stored.access}`,
  ])
}, 120_000)
