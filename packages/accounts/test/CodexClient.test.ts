/**
 * The Promise facade as a host without Effect uses it, against the simulator over real sockets: its own
 * names for the settings, its own identity, a fresh machine (no login, no settings file).
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { type CodexClient, createCodexClient, type MainAccountTokens } from "../src/CodexClient.ts"
import { tempDir } from "./support/fixture.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ deviceInterval: "0", defaultText: "facade says hi" })
})
afterAll(async () => {
  await sim.stop()
})

const HOST_URL = "https://api.openai.com/v1/responses"
const IDENTITY = { originator: "plain_host", userAgent: "plain-host/3.1" }

/** The settings a host named `PLAIN_HOST_OPENAI_AUTH_*` reads, pointed at the simulator. */
const hostEnv = (dir: string, extra: Record<string, string> = {}) => ({
  PLAIN_HOST_OPENAI_AUTH_ISSUER: sim.url,
  PLAIN_HOST_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
  PLAIN_HOST_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
  PLAIN_HOST_OPENAI_AUTH_LOG_FILE: join(dir, "host.log"),
  ...extra,
})

const clientIn = (dir: string, options: { env?: Record<string, string>; main?: MainStoreFake } = {}) =>
  createCodexClient({
    ...IDENTITY,
    settings: { prefix: "PLAIN_HOST_OPENAI_AUTH", configFile: join(dir, "openai-auth.json") },
    env: hostEnv(dir, options.env),
    ...(options.main === undefined ? {} : { mainAccount: options.main }),
  })

/** What an OpenAI Responses client sends: instructions, a user turn and one function tool. */
const responsesCall = (text: string, signal?: AbortSignal) => ({
  method: "POST",
  headers: { "content-type": "application/json", authorization: "Bearer placeholder" },
  body: JSON.stringify({
    model: "gpt-5.5",
    instructions: "You are terse.",
    input: [{ role: "user", content: [{ type: "input_text", text }] }],
    tools: [
      {
        type: "function",
        name: "get_weather",
        description: "the weather in a city",
        parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      },
    ],
    stream: true,
  }),
  ...(signal === undefined ? {} : { signal }),
})

class MainStoreFake {
  tokens: MainAccountTokens | undefined
  writes: Array<MainAccountTokens> = []
  read = async () => this.tokens
  write = async (tokens: MainAccountTokens) => {
    this.writes.push(tokens)
    this.tokens = tokens
  }
}

const withClient = async (client: CodexClient, body: (client: CodexClient) => Promise<void>) => {
  try {
    await body(client)
  } finally {
    await client.dispose()
  }
}

describe("createCodexClient on a fresh machine", () => {
  test("two device logins (main, then a fallback), a tool request that falls back on a usage limit, quota", async () => {
    using dir = tempDir()
    const first = sim.addAccount({ accountId: "acct_facade_a", userId: "u_facade_a", plan: "pro" })
    const second = sim.addAccount({ accountId: "acct_facade_b", userId: "u_facade_b", plan: "plus" })
    sim.nextLogin(first.accountId)
    sim.nextLogin(second.accountId)
    await withClient(clientIn(dir.dir), async (client) => {
      const mainLogin = await client.login.device()
      expect(mainLogin.verificationUrl).toBe(`${sim.url}/codex/device`)
      expect(mainLogin.userCode).toMatch(/^[A-Z0-9]{4}-[A-Z0-9]{4}$/)
      const main = await mainLogin.completed
      expect(main.savedAs).toBe("main")
      expect(main.accountId).toBe(first.accountId)
      const mainFile = join(dir.dir, "openai-auth-main.json")
      expect(statSync(mainFile).mode & 0o777).toBe(0o600)
      expect(JSON.parse(readFileSync(mainFile, "utf8")).openai.accountId).toBe(first.accountId)

      const fallback = await (await client.login.device({ label: "spare" })).completed
      expect(fallback.savedAs).toBe("fallback")
      expect(fallback.summary).toContain("spare")

      sim.script(first.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 900 } })
      sim.script(second.accountId, { reply: { toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] } })
      const before = sim.requests.length
      const response = await client.fetch(HOST_URL, responsesCall("weather in Oslo?"))
      expect(response.status).toBe(200)
      expect(response.headers.get("content-type")).toBe("text/event-stream")
      const sse = await response.text()
      expect(sse).toContain('"name":"get_weather"')
      expect(sse).toContain("response.completed")
      const codex = sim.requests.slice(before).filter((r) => r.path.endsWith("/codex/responses"))
      expect(codex.map((r) => [r.accountId, r.status])).toEqual([
        [first.accountId, 429],
        [second.accountId, 200],
      ])
      for (const request of codex) {
        expect(request.headers.originator).toBe(IDENTITY.originator)
        expect(request.headers["user-agent"]).toBe(IDENTITY.userAgent)
      }

      const accounts = await client.accounts.list()
      expect(accounts.accounts.map((a) => [a.key, a.state])).toEqual([
        ["main", "exhausted"],
        [`${second.accountId}/${second.userId}`, "active"],
      ])
      const quota = await client.accounts.quota()
      expect(quota.polled.map((p) => p.ok)).toEqual([true, true])
      const usage = sim.requests.filter((r) => r.path.endsWith("/wham/usage"))
      expect(usage.at(-1)?.headers["user-agent"]).toBe(IDENTITY.userAgent)
    })
  })

  test("routing and the killswitch are kept in the settings file and steer the next request", async () => {
    using dir = tempDir()
    const main = sim.addAccount({ accountId: "acct_facade_r1", userId: "u_r1" })
    const spare = sim.addAccount({ accountId: "acct_facade_r2", userId: "u_r2" })
    const store = new MainStoreFake()
    store.tokens = { ...tokensOf(main), accountId: main.accountId }
    sim.nextLogin(spare.accountId)
    await withClient(clientIn(dir.dir, { main: store }), async (client) => {
      expect((await (await client.login.device()).completed).savedAs).toBe("fallback")
      expect(await client.routing.get()).toBe("main-first")
      await client.routing.set("fallback-first")
      expect(await client.routing.get()).toBe("fallback-first")
      const served = async () => {
        const before = sim.requests.length
        expect((await client.fetch(HOST_URL, responsesCall("hi"))).status).toBe(200)
        return sim.requests.slice(before).find((r) => r.path.endsWith("/codex/responses"))?.accountId
      }
      expect(await served()).toBe(spare.accountId)
      await client.killswitch.set({ "*": { fiveHour: 50, weekly: 10 } })
      await client.killswitch.enable(true)
      expect((await client.killswitch.get()).enabled).toBe(true)
      sim.setQuota(spare.accountId, { primaryUsedPercent: 90 })
      await client.accounts.quota()
      expect(await served()).toBe(main.accountId)
      const file = JSON.parse(readFileSync(join(dir.dir, "openai-auth.json"), "utf8"))
      expect(file.routing).toBe("fallback-first")
      expect(file.killswitch.enabled).toBe(true)
      expect((await client.command("routing", "main-first")).summary).toContain("main-first")
      await expect(client.command("routing", "sideways")).rejects.toThrow(/unknown mode/)
    })
  })

  test("a host's own main-account store is read, and written back after a refresh", async () => {
    using dir = tempDir()
    const main = sim.addAccount({ accountId: "acct_facade_own", userId: "u_own" })
    const store = new MainStoreFake()
    // an expired token: the first request refreshes it and hands the new pair back to the host
    store.tokens = { ...tokensOf(main), expiresAt: Date.now() - 1000, accountId: main.accountId }
    await withClient(clientIn(dir.dir, { main: store }), async (client) => {
      expect((await client.fetch(HOST_URL, responsesCall("hi"))).status).toBe(200)
      expect(store.writes).toHaveLength(1)
      expect(store.writes[0]?.refresh).not.toBe(main.tokens.refresh)
      expect(store.writes[0]?.expiresAt).toBeGreaterThan(Date.now())
      expect(existsSync(join(dir.dir, "openai-auth-main.json"))).toBe(false)
    })
  })

  test("an abort rejects like fetch does; other URLs pass through untouched; a bad body is a 400", async () => {
    using dir = tempDir()
    const main = sim.addAccount({ accountId: "acct_facade_abort", userId: "u_abort" })
    const store = new MainStoreFake()
    store.tokens = { ...tokensOf(main), accountId: main.accountId }
    sim.script(main.accountId, { fault: { kind: "slow_first_byte", ms: 5_000 } })
    await withClient(clientIn(dir.dir, { main: store }), async (client) => {
      const controller = new AbortController()
      const pending = client.fetch(HOST_URL, responsesCall("hi", controller.signal))
      await sim.waitForRequest((r) => r.accountId === main.accountId && r.path.endsWith("/codex/responses"))
      controller.abort()
      const error = await pending.then(
        () => undefined,
        (e: unknown) => e,
      )
      expect((error as Error).name).toBe("AbortError")
      const page = await client.fetch(`${sim.url}/codex/device`)
      expect(await page.text()).toBe("Simulated device approval page")
      const bad = await client.fetch(HOST_URL, { method: "POST", body: "{ not json" })
      expect(bad.status).toBe(400)
      expect(((await bad.json()) as { error: { type: string } }).error.type).toBe("invalid_request")
    })
  })

  test("a settings file with a bad value is reported and the environment still serves (strict: it fails)", async () => {
    using dir = tempDir()
    const main = sim.addAccount({ accountId: "acct_facade_bad", userId: "u_bad" })
    const store = new MainStoreFake()
    store.tokens = { ...tokensOf(main), accountId: main.accountId }
    writeFileSync(join(dir.dir, "openai-auth.json"), JSON.stringify({ webSockets: "perhaps" }))
    await withClient(clientIn(dir.dir, { main: store }), async (client) => {
      expect((await client.fetch(HOST_URL, responsesCall("hi"))).status).toBe(200)
      expect((await client.settings()).issuer).toBe(sim.url)
    })
    expect(readFileSync(join(dir.dir, "host.log"), "utf8")).toContain("webSockets")
    const strict = createCodexClient({
      ...IDENTITY,
      settings: { prefix: "PLAIN_HOST_OPENAI_AUTH", configFile: join(dir.dir, "openai-auth.json") },
      env: hostEnv(dir.dir),
      mainAccount: store,
      strictSettings: true,
    })
    await withClient(strict, async (client) => {
      await expect(client.settings()).rejects.toThrow(/webSockets/)
    })
  })
})

const tokensOf = (account: { readonly tokens: { readonly access: string; readonly refresh: string } }) => ({
  access: account.tokens.access,
  refresh: account.tokens.refresh,
  expiresAt: Date.now() + 3_600_000,
})
