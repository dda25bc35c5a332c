import { afterAll, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { MainCredentials } from "@cortexkit/openai-auth-accounts/Credentials"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Effect, Option, Redacted } from "effect"
import { parseArgs } from "../src/cli/Args.ts"
import { browserOpener } from "../src/cli/Login.ts"
import { HostAuthFile, hostAuthPath } from "../src/HostAuthFile.ts"

const root = mkdtempSync(join(tmpdir(), "oa-cli-args-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe("parseArgs", () => {
  test("commands, flags and help", () => {
    expect(parseArgs(["login", "--label", "work", "--headless"])).toEqual({
      ok: true,
      request: { _tag: "Login", label: "work", headless: true, json: false },
    })
    expect(parseArgs(["login", "--label=work"])).toMatchObject({
      ok: true,
      request: { label: "work", headless: false },
    })
    expect(parseArgs(["list", "--json"])).toEqual({ ok: true, request: { _tag: "List", json: true } })
    expect(parseArgs(["remove", "work"])).toMatchObject({
      ok: true,
      request: { _tag: "Run", command: { _tag: "AccountRemove", account: "work" } },
    })
    expect(parseArgs(["killswitch", "set", "main:5,10", "work:1,2"])).toMatchObject({
      ok: true,
      request: { command: { _tag: "KillswitchSet", thresholds: { main: { fiveHour: 5, weekly: 10 } } } },
    })
    expect(parseArgs([])).toEqual({ ok: true, request: { _tag: "Help" } })
    expect(parseArgs(["quota", "-h"])).toEqual({ ok: true, request: { _tag: "Help", topic: "quota" } })
  })

  test("usage errors name the problem and the usage", () => {
    expect(parseArgs(["routing", "sideways"])).toEqual({
      ok: false,
      error: 'unknown mode "sideways". Usage: openai-auth routing [main-first|fallback-first]',
    })
    expect(parseArgs(["login", "--label", "--headless"])).toMatchObject({ ok: false })
    expect(parseArgs(["order", "a"])).toMatchObject({
      ok: false,
      error: expect.stringContaining("openai-auth order <a> <b>"),
    })
    expect(parseArgs(["nope"])).toEqual({
      ok: false,
      error: 'unknown command "nope". Run "openai-auth --help" for usage',
    })
  })

  test("a browser is opened only where there is one", () => {
    expect(browserOpener({}, "linux")).toBeUndefined()
    expect(browserOpener({ DISPLAY: ":0" }, "linux")).toEqual(["xdg-open"])
    expect(browserOpener({ WAYLAND_DISPLAY: "wayland-0" }, "linux")).toEqual(["xdg-open"])
    expect(browserOpener({}, "darwin")).toEqual(["open"])
  })
})

describe("HostAuthFile", () => {
  const run = <A, E>(path: string, f: (host: MainCredentials["Service"]) => Effect.Effect<A, E>) =>
    Effect.runPromise(
      Effect.gen(function* () {
        return yield* f(yield* MainCredentials)
      }).pipe(Effect.provide(HostAuthFile.layerAt(path)), Effect.provide(Files.layer)),
    )

  test("the path follows XDG_DATA_HOME", () => {
    expect(hostAuthPath({ XDG_DATA_HOME: "/x" }, "/home/u")).toBe("/x/opencode/auth.json")
    expect(hostAuthPath({}, "/home/u")).toBe("/home/u/.local/share/opencode/auth.json")
  })

  test("reads the openai OAuth entry; none for a missing file or an API key", async () => {
    const path = join(root, "a", "auth.json")
    expect(Option.isNone(await run(path, (h) => h.read))).toBe(true)
    mkdirSync(join(path, ".."), { recursive: true })
    writeFileSync(path, JSON.stringify({ openai: { type: "api", key: "sk-x" } }))
    expect(Option.isNone(await run(path, (h) => h.read))).toBe(true)
    writeFileSync(
      path,
      JSON.stringify({ openai: { type: "oauth", access: "a1", refresh: "r1", expires: 42, accountId: "acct" } }),
    )
    const tokens = Option.getOrThrow(await run(path, (h) => h.read))
    expect(Redacted.value(tokens.refresh)).toBe("r1")
    expect(tokens).toMatchObject({ expiresAt: 42, accountId: "acct" })
  })

  test("a corrupt file is an error and is never overwritten", async () => {
    const path = join(root, "b", "auth.json")
    mkdirSync(join(path, ".."), { recursive: true })
    writeFileSync(path, "{ nope")
    const tokens = new TokenSet({
      access: Redacted.make("a"),
      refresh: Redacted.make("r"),
      expiresAt: 1,
      accountId: "x",
    })
    const error = await run(path, (h) => Effect.flip(h.write(tokens)))
    expect(error.message).toContain(path)
    expect(readFileSync(path, "utf8")).toBe("{ nope")
  })

  test("a write keeps other providers and unknown keys, mode 0600", async () => {
    const path = join(root, "c", "auth.json")
    mkdirSync(join(path, ".."), { recursive: true })
    writeFileSync(
      path,
      JSON.stringify({
        zai: { type: "api", key: "k" },
        openai: { type: "oauth", access: "a", refresh: "r", expires: 1, enterpriseUrl: "e" },
      }),
    )
    const tokens = new TokenSet({
      access: Redacted.make("a2"),
      refresh: Redacted.make("r2"),
      expiresAt: 99,
      accountId: "acct",
    })
    await run(path, (h) => h.write(tokens))
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({
      zai: { type: "api", key: "k" },
      openai: { type: "oauth", access: "a2", refresh: "r2", expires: 99, accountId: "acct", enterpriseUrl: "e" },
    })
    expect(statSync(path).mode & 0o777).toBe(0o600)
  })
})
