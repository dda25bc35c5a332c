/**
 * `openai-auth` as a user runs it: a real process per command, a temp HOME/XDG and config file, the simulator
 * as issuer and usage endpoint.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type CliHome, cliSuite } from "./support/cli.ts"

const suite = cliSuite("oa-cli-", { deviceInterval: "0" })
const { cli, printed } = suite
type Home = CliHome
const makeHome = (): Home => suite.home()

const ok = async (home: Home, ...args: Array<string>) => {
  const run = await cli(home, ...args)
  if (run.code !== 0) throw new Error(`openai-auth ${args.join(" ")} exited ${run.code}: ${run.stderr}`)
  expect(run.stderr).toBe("")
  return run
}

const writeHostAuth = (home: Home, entry: Record<string, unknown>) => {
  mkdirSync(join(home.auth, ".."), { recursive: true })
  writeFileSync(
    home.auth,
    JSON.stringify({ anthropic: { type: "api", key: "sk-ant-keep-me" }, openai: { type: "oauth", ...entry } }),
    { mode: 0o600 },
  )
}

const login = async (home: Home, accountId: string, label?: string) => {
  suite.sim.nextLogin(accountId)
  return ok(home, "login", "--headless", ...(label === undefined ? [] : ["--label", label]))
}

describe("openai-auth", () => {
  test("login --headless adds a fallback through the device flow; list --json shows it", async () => {
    const home = makeHome()
    suite.sim.addAccount({ accountId: "acct_cli_a", email: "a@example.com", plan: "plus" })
    const run = await login(home, "acct_cli_a", "work")
    expect(run.stdout).toContain(`${suite.sim.url}/codex/device`)
    expect(run.stdout).toMatch(/enter the code: [A-Z0-9]+-[A-Z0-9]+/)
    expect(run.stdout).toContain("added fallback account work")
    expect(statSync(home.config).mode & 0o777).toBe(0o600)

    const list = JSON.parse((await ok(home, "list", "--json")).stdout)
    expect(list.routing).toBe("main-first")
    expect(list.accounts.map((a: { key: string; kind: string }) => a.kind)).toEqual(["main", "fallback"])
    expect(list.accounts[0]).toMatchObject({ key: "main", state: "not-logged-in", loggedIn: false })
    expect(list.accounts[1]).toMatchObject({ id: "acct_cli_a", label: "work", email: "a@example.com", state: "active" })

    // logging in again to the same account updates it in place
    await login(home, "acct_cli_a")
    const again = JSON.parse((await ok(home, "list", "--json")).stdout)
    expect(again.accounts).toHaveLength(2)
    expect(again.accounts[1].label).toBe("work")
    const text = (await ok(home, "list")).stdout
    expect(text).toContain("ACCOUNT")
    expect(text).toContain("work")
  }, 30_000)

  test("quota polls main (from OpenCode's auth.json) and every fallback", async () => {
    const home = makeHome()
    const main = suite.sim.addAccount({ accountId: "acct_cli_main", plan: "pro" })
    suite.sim.setQuota("acct_cli_main", { primaryUsedPercent: 11, secondaryUsedPercent: 22 })
    suite.sim.addAccount({ accountId: "acct_cli_b" })
    suite.sim.setQuota("acct_cli_b", { primaryUsedPercent: 33, secondaryUsedPercent: 44 })
    writeHostAuth(home, {
      access: main.tokens.access,
      refresh: main.tokens.refresh,
      expires: Date.now() + 3_600_000,
      accountId: "acct_cli_main",
    })
    await login(home, "acct_cli_b", "spare")
    const quota = JSON.parse((await ok(home, "quota", "--json")).stdout)
    expect(quota.polled.map((p: { ok: boolean }) => p.ok)).toEqual([true, true])
    const [m, b] = quota.accounts
    expect(m).toMatchObject({ key: "main", state: "active", loggedIn: true, plan: "pro" })
    expect(m.quota.fiveHour.usedPercent).toBe(11)
    expect(m.quota.weekly.usedPercent).toBe(22)
    expect(b.quota.fiveHour.usedPercent).toBe(33)
    // the reading is in the store for the TUI and the next run
    expect(JSON.parse(readFileSync(home.config, "utf8")).quota.main.weekly.usedPercent).toBe(22)
    const table = (await ok(home, "quota")).stdout
    expect(table).toMatch(/main\s+11%\s+in \d/)
    expect(table).toMatch(/spare\s+33%/)
  }, 30_000)

  test("an expired main token is refreshed and written back to auth.json, other providers kept", async () => {
    const home = makeHome()
    const main = suite.sim.addAccount({ accountId: "acct_cli_refresh" })
    writeHostAuth(home, {
      access: main.tokens.access,
      refresh: main.tokens.refresh,
      expires: Date.now() - 1_000,
      accountId: "acct_cli_refresh",
    })
    const quota = JSON.parse((await ok(home, "quota", "--json")).stdout)
    expect(quota.polled).toEqual([{ key: "main", ok: true }])
    const auth = JSON.parse(readFileSync(home.auth, "utf8"))
    expect(auth.anthropic).toEqual({ type: "api", key: "sk-ant-keep-me" })
    expect(auth.openai.type).toBe("oauth")
    expect(auth.openai.refresh).not.toBe(main.tokens.refresh)
    expect(auth.openai.expires).toBeGreaterThan(Date.now())
    expect(statSync(home.auth).mode & 0o777).toBe(0o600)
  }, 30_000)

  test("every setter persists and shows; switch, order and remove by label or id", async () => {
    const home = makeHome()
    mkdirSync(join(home.config, ".."), { recursive: true })
    writeFileSync(home.config, JSON.stringify({ webSockets: true, myOwnKey: "kept" }))
    suite.sim.addAccount({ accountId: "acct_cli_c" })
    suite.sim.addAccount({ accountId: "acct_cli_d" })
    await login(home, "acct_cli_c", "cee")
    await login(home, "acct_cli_d", "dee")

    expect((await ok(home, "routing", "fallback-first")).stdout.trim()).toBe("routing set to fallback-first")
    expect((await ok(home, "routing")).stdout.trim()).toBe("routing: fallback-first")
    await ok(home, "killswitch", "on")
    await ok(home, "killswitch", "set", "main:5,10", "cee:2,3")
    expect((await ok(home, "killswitch")).stdout).toContain("killswitch on; main:5% 5h,10% weekly")
    await ok(home, "cachekeep", "on")
    await ok(home, "cachekeep", "subagents", "on")
    expect((await ok(home, "cachekeep")).stdout.trim()).toBe("cache keep-warm on, subagents on")
    await ok(home, "logging", "trace")
    expect((await ok(home, "logging")).stdout.trim()).toBe("log level: trace")
    await ok(home, "dump", "on")
    expect((await ok(home, "dump")).stdout.trim()).toBe("request dumps on")
    expect(JSON.parse((await ok(home, "dump", "--json")).stdout)).toMatchObject({ enabled: true })

    await ok(home, "switch", "dee")
    await ok(home, "order", "cee", "acct_cli_d")
    let list = JSON.parse((await ok(home, "list", "--json")).stdout)
    expect(list.activeAccount).toStartWith("acct_cli_d")
    expect(list.accounts.slice(1).map((a: { label: string }) => a.label)).toEqual(["dee", "cee"])
    expect((await ok(home, "remove", "acct_cli_d")).stdout.trim()).toBe("removed fallback account dee")
    list = JSON.parse((await ok(home, "list", "--json")).stdout)
    expect(list.accounts.map((a: { key: string }) => a.key)).toHaveLength(2)
    expect(list.activeAccount).toBeUndefined()

    const disk = JSON.parse(readFileSync(home.config, "utf8"))
    expect(disk).toMatchObject({
      webSockets: true,
      myOwnKey: "kept",
      routing: "fallback-first",
      killswitch: { enabled: true },
      cacheKeep: { enabled: true, subagents: true },
      logLevel: "trace",
      dump: true,
    })
    expect(Object.keys(disk.killswitch.thresholds)).toEqual(["main", expect.stringMatching(/^acct_cli_c/)])
  }, 60_000)

  test("bad usage exits 2 with one line naming the usage", async () => {
    const home = makeHome()
    const cases: Array<Array<string>> = [
      ["routing", "sideways"],
      ["frobnicate"],
      ["remove"],
      ["login", "--label"],
      ["list", "extra"],
      ["killswitch", "set", "main:5"],
      ["cachekeep", "subagents"],
      ["logging", "loud"],
      ["dump", "maybe"],
      ["quota", "--verbose"],
      ["help", "nothing"],
    ]
    for (const args of cases) {
      const run = await cli(home, ...args)
      expect({ args, code: run.code }).toEqual({ args, code: 2 })
      expect(run.stdout).toBe("")
      const lines = run.stderr.trimEnd().split("\n")
      expect(lines).toHaveLength(1)
      expect(lines[0]).toStartWith("openai-auth: ")
      expect(lines[0]).toMatch(/Usage: openai-auth |--help/)
    }
    expect(existsSync(home.config)).toBe(false)
  }, 60_000)

  test("help, per-command help, and an unknown account (exit 1 with the known names)", async () => {
    const home = makeHome()
    expect((await ok(home, "--help")).stdout).toContain("openai-auth login [--label <name>] [--headless]")
    expect((await ok(home, "help")).stdout).toContain("openai-auth quota [--json]")
    expect((await ok(home, "killswitch", "--help")).stdout).toContain("Usage: openai-auth killswitch")
    expect((await ok(home, "help", "login")).stdout).toContain("--headless")
    const run = await cli(home, "remove", "nobody")
    expect(run.code).toBe(1)
    expect(run.stderr.trim()).toBe('openai-auth: no account named "nobody"; known accounts: main')
    const main = await cli(home, "remove", "main")
    expect(main.code).toBe(1)
    expect(main.stderr).toContain("cannot remove the main account")
  }, 30_000)

  test("a corrupt config file: exit 1 with the path and the reason, the file untouched", async () => {
    const home = makeHome()
    mkdirSync(join(home.config, ".."), { recursive: true })
    for (const content of ["{ this is not json", JSON.stringify({ version: 99, accounts: [] })]) {
      writeFileSync(home.config, content)
      for (const args of [["list"], ["routing", "fallback-first"], ["quota", "--json"], ["remove", "x"]]) {
        const run = await cli(home, ...args)
        expect({ args, code: run.code }).toEqual({ args, code: 1 })
        const lines = run.stderr.trimEnd().split("\n")
        expect(lines).toHaveLength(1)
        expect(lines[0]).toContain(home.config)
        expect(readFileSync(home.config, "utf8")).toBe(content)
      }
    }
  }, 60_000)

  test("no token ever reaches the output", () => {
    const secrets = new Set<string>(suite.sim.issuedSecrets())
    for (const home of readdirSync(suite.root).filter((name) => name.startsWith("home-"))) {
      for (const file of [
        join(suite.root, home, "config", "opencode", "openai-auth.json"),
        join(suite.root, home, "data", "opencode", "auth.json"),
      ]) {
        if (!existsSync(file)) continue
        const text = readFileSync(file, "utf8")
        for (const match of text.matchAll(/"(?:access|refresh|idToken)":\s*"([^"]+)"/g)) secrets.add(match[1] as string)
      }
    }
    expect(secrets.size).toBeGreaterThan(5)
    const all = printed.join("\n")
    expect(all.length).toBeGreaterThan(1000)
    for (const secret of secrets) expect(all.includes(secret)).toBe(false)
  })
})
