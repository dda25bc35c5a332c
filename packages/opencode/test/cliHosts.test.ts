/**
 * `openai-auth --host pi` (or `OPENAI_AUTH_HOST=pi`): Pi's store and Pi's main account, the latter always
 * behind Pi's own lock; anything else is a usage error before any file is touched.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { MainCredentials } from "@cortexkit/openai-auth-accounts/CredentialsContract"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { configPath } from "@cortexkit/openai-auth-core/Settings"
import { Effect, Layer } from "effect"
import { helpText } from "../src/cli/Args.ts"
import { cliHost, takeHostFlag } from "../src/cli/Hosts.ts"
import { cliSuite } from "./support/cli.ts"

const exclusiveOf = (env: Record<string, string>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      return (yield* MainCredentials).exclusive !== undefined
    }).pipe(Effect.provide(cliHost(env).main.pipe(Layer.provide(Files.layer)))),
  )

describe("openai-auth --host", () => {
  test("the flag is taken out wherever it stands and kept in the run's environment; a bad name is refused", () => {
    expect(takeHostFlag(["list", "--host", "pi", "--json"], {})).toEqual({
      ok: true,
      argv: ["list", "--json"],
      env: { OPENAI_AUTH_HOST: "pi" },
    })
    expect(takeHostFlag(["--host=opencode", "quota"], { OPENAI_AUTH_HOST: "pi" })).toMatchObject({
      ok: true,
      argv: ["quota"],
      env: { OPENAI_AUTH_HOST: "opencode" },
    })
    expect(takeHostFlag(["list"], { OPENAI_AUTH_HOST: "pi" })).toMatchObject({ ok: true, argv: ["list"] })
    expect(takeHostFlag(["list", "--host"], {})).toEqual({ ok: false, error: "--host needs a name" })
    expect(takeHostFlag(["list"], { OPENAI_AUTH_HOST: "codex" })).toMatchObject({ ok: false })
    expect(takeHostFlag(["--host", "mars", "list"], {})).toMatchObject({
      ok: false,
      error: expect.stringContaining('unknown host "mars"'),
    })
    // --help says how to reach Pi's accounts and what Pi's main account is
    expect(helpText()).toContain("With --host pi (or OPENAI_AUTH_HOST=pi)")
    expect(helpText()).toContain("Pi's /login openai-codex")
  })

  test("pi: the store in Pi's agent dir (or $PI_OPENAI_AUTH_FILE), Pi's identity, Pi's auth.json under Pi's lock", async () => {
    const env = { OPENAI_AUTH_HOST: "pi", PI_CODING_AGENT_DIR: "/tmp/agent-x" }
    const pi = cliHost(env)
    expect(configPath(pi.settings, "/home/u")).toBe("/tmp/agent-x/openai-auth.json")
    expect(configPath(cliHost({ ...env, PI_OPENAI_AUTH_FILE: "~/pi.json" }).settings, "/home/u")).toBe(
      "/home/u/pi.json",
    )
    expect(configPath(cliHost({ OPENAI_AUTH_HOST: "pi" }).settings, "/home/u")).toBe(
      "/home/u/.pi/agent/openai-auth.json",
    )
    expect(pi.identity.originator).toBe("pi")
    expect(await exclusiveOf(env)).toBe(true)
    // OpenCode's auth.json has no lock of its own: our store's lock serialises its refreshes
    expect(await exclusiveOf({})).toBe(false)
    expect(cliHost({}).identity.originator).toBe("opencode")
  })
})

const suite = cliSuite("oa-cli-pi-", { deviceInterval: "0" })

/** a user of both hosts: OpenCode's paths as always, plus a Pi agent dir with Pi's own auth.json */
const piHome = () => {
  const home = suite.home()
  const agent = join(home.dir, "pi-agent")
  mkdirSync(agent, { recursive: true })
  return { ...home, agent, piAuth: join(agent, "auth.json"), piStore: join(agent, "openai-auth.json") }
}

describe("openai-auth --host pi, as a user runs it", () => {
  test("the main account is Pi's openai-codex login (refreshed in place under Pi's lock); fallbacks land in Pi's store", async () => {
    const home = piHome()
    const env = { ...home.env, PI_CODING_AGENT_DIR: home.agent }
    const main = suite.sim.addAccount({ accountId: "acct_pi_main", plan: "pro" })
    writeFileSync(
      home.piAuth,
      JSON.stringify({
        anthropic: { type: "api_key", key: "sk-ant-keep-me" },
        "openai-codex": {
          type: "oauth",
          access: main.tokens.access,
          refresh: main.tokens.refresh,
          expires: Date.now() - 1_000,
          accountId: "acct_pi_main",
        },
      }),
      { mode: 0o600 },
    )
    const quota = await suite.cli({ env }, "--host", "pi", "quota", "--json")
    expect(quota.stderr).toBe("")
    expect(JSON.parse(quota.stdout).polled).toEqual([{ key: "main", ok: true }])
    const auth = JSON.parse(readFileSync(home.piAuth, "utf8"))
    expect(auth.anthropic).toEqual({ type: "api_key", key: "sk-ant-keep-me" })
    expect(auth["openai-codex"].refresh).not.toBe(main.tokens.refresh)
    expect(auth["openai-codex"].expires).toBeGreaterThan(Date.now())
    expect(existsSync(`${home.piAuth}.lock`)).toBe(false)

    suite.sim.addAccount({ accountId: "acct_pi_spare" })
    suite.sim.nextLogin("acct_pi_spare")
    const login = await suite.cli(
      { env: { ...env, OPENAI_AUTH_HOST: "pi" } },
      "login",
      "--headless",
      "--label",
      "spare",
    )
    expect(login.code).toBe(0)
    const list = JSON.parse((await suite.cli({ env }, "list", "--json", "--host=pi")).stdout)
    expect(list.accounts.map((a: { kind: string; id?: string }) => [a.kind, a.id])).toEqual([
      ["main", undefined],
      ["fallback", "acct_pi_spare"],
    ])
    expect(list.accounts[0]).toMatchObject({ state: "active", loggedIn: true })
    expect(JSON.parse(readFileSync(home.piStore, "utf8")).accounts).toHaveLength(1)
    // messages about the main account send the user to Pi's login, not OpenCode's
    const refused = await suite.cli({ env }, "--host", "pi", "remove", "main")
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain("it is Pi's own login (/login openai-codex)")
    // OpenCode's store and auth.json were never touched
    expect(existsSync(home.config)).toBe(false)
    expect(existsSync(home.auth)).toBe(false)
  }, 30_000)
})
