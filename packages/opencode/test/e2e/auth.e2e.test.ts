import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { fileMode, makeSandbox, readJson, responsesFor, writeHostAuth } from "./harness.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ defaultText: "Answered after a refresh" })
})
afterAll(async () => {
  await sim.stop()
})

interface HostOAuth {
  readonly type?: string
  readonly access?: string
  readonly refresh?: string
  readonly expires?: number
  readonly accountId?: string
}

const hostEntry = (authPath: string) => (readJson(authPath) as { openai?: HostOAuth } | undefined)?.openai

const METHODS = ["ChatGPT Pro/Plus (browser)", "ChatGPT Pro/Plus (headless)", "Manually enter API Key"] as const

describe("OpenCode's auth store and login through the real binary", () => {
  test("an expired main token is refreshed once and the rotated tokens land in auth.json through OpenCode", async () => {
    const main = sim.addAccount({ accountId: "acct_auth_refresh", userId: "user_auth_refresh" })
    using box = makeSandbox(sim, main)
    writeHostAuth(box.authPath, main, { expires: Date.now() - 60_000 })
    // the old access token is dead server-side too: only a refreshed token can be served
    sim.expireAccessTokens(main.accountId)
    const result = await box.run(["run", "--model", "openai/gpt-5.5", "say hi"])
    expect(result.stdout).toContain("Answered after a refresh")
    expect(result.code).toBe(0)

    const refreshes = sim.refreshes.filter((r) => r.accountId === main.accountId)
    expect(refreshes).toHaveLength(1)
    expect(refreshes[0]?.refreshToken).toBe(main.tokens.refresh)
    expect(refreshes[0]?.outcome).toBe("ok")
    const served = responsesFor(sim, main.accountId)
    expect(served.length).toBeGreaterThanOrEqual(1)
    for (const request of served) expect(request.status).toBe(200)

    const entry = hostEntry(box.authPath)
    expect(entry?.type).toBe("oauth")
    expect(entry?.accountId).toBe(main.accountId)
    expect(entry?.refresh).toBeString()
    expect(entry?.refresh).not.toBe(main.tokens.refresh)
    expect(entry?.access).not.toBe(main.tokens.access)
    expect(entry?.expires ?? 0).toBeGreaterThan(Date.now())
    // the served requests carried the rotated access token
    expect(served.at(-1)?.headers.authorization).toBe(`Bearer ${entry?.access}`)
    expect(fileMode(box.authPath)).toBe(0o600)
  }, 120_000)

  test("`providers login` lists our three methods for openai", async () => {
    using box = makeSandbox(sim, undefined)
    // without -m the host waits on a select prompt: stop it once the choices are printed
    const result = await box.run(["providers", "login", "-p", "openai"], {}, { until: METHODS[2], timeoutMs: 60_000 })
    for (const label of METHODS) expect(result.stdout).toContain(label)
    expect(readJson(box.authPath)).toBeUndefined()
  }, 120_000)

  test("the headless device login through `providers login` stores the account in auth.json", async () => {
    const account = sim.addAccount({ accountId: "acct_auth_login", userId: "user_auth_login" })
    sim.setDevice({ interval: "0", approveAfterPolls: 1 })
    sim.nextLogin(account.accountId)
    using box = makeSandbox(sim, undefined)
    const result = await box.run(["providers", "login", "-p", "openai", "-m", METHODS[1]])
    expect(result.code).toBe(0)
    expect(result.stdout).toContain(`${sim.url}/codex/device`)
    expect(result.stdout).toMatch(/Enter code: [A-Z0-9]{4}-[A-Z0-9]{4}/)
    expect(result.stdout).toContain("Login successful")

    const entry = hostEntry(box.authPath)
    expect(entry?.type).toBe("oauth")
    expect(entry?.accountId).toBe(account.accountId)
    expect(entry?.refresh).toStartWith("rt_")
    const claims = JSON.parse(Buffer.from(entry?.access?.split(".")[1] ?? "", "base64url").toString()) as {
      "https://api.openai.com/auth"?: { chatgpt_account_id?: string }
    }
    expect(claims["https://api.openai.com/auth"]?.chatgpt_account_id).toBe(account.accountId)
    expect(entry?.expires ?? 0).toBeGreaterThan(Date.now())
    expect(fileMode(box.authPath)).toBe(0o600)
  }, 120_000)
})
