import { describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { it, testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Exit, Layer, Result } from "effect"
import { Files } from "../src/Files.ts"
import {
  configPath,
  DEFAULT_CODEX_ENDPOINT,
  DEFAULT_ISSUER,
  DEFAULT_USAGE_ENDPOINT,
  type Env,
  loadSettings,
  type ResolvedSettings,
  resolveSettings,
  Settings,
  SettingsError,
  type SettingsNames,
  settingsNames,
  wsUrlFor,
} from "../src/Settings.ts"
import { TEST_NAMES, testSource } from "./support/settings.ts"

const defaults = { tmpDir: "/tmp/t", homeDir: "/home/u" }

const ok = (env: Env, file?: unknown, names: SettingsNames = TEST_NAMES): ResolvedSettings => {
  const result = resolveSettings({ names, env }, file, defaults)
  if (Result.isFailure(result)) throw new Error(`unexpected failure: ${result.failure.message}`)
  return result.success
}

const err = (env: Env, file?: unknown): SettingsError => {
  const result = resolveSettings(testSource(env), file, defaults)
  if (Result.isSuccess(result)) throw new Error("expected a SettingsError")
  expect(result.failure).toBeInstanceOf(SettingsError)
  return result.failure
}

describe("resolveSettings defaults", () => {
  test("no env, no file", () => {
    expect(ok({})).toEqual({
      webSearch: true,
      webSockets: false,
      rawWebSocket: false,
      dump: false,
      dumpDir: "/tmp/t/test-host-openai-auth-dumps",
      codexApiEndpoint: DEFAULT_CODEX_ENDPOINT,
      issuer: DEFAULT_ISSUER,
      usageEndpoint: DEFAULT_USAGE_ENDPOINT,
      logLevel: "info",
      logFile: "/tmp/t/test-host-openai-auth.log",
      configFile: "/home/u/.config/test-host/openai-auth.json",
    })
  })
})

describe("the host names the settings", () => {
  test("a prefix names every variable", () => {
    expect(settingsNames({ prefix: "PI_OPENAI_AUTH", configFile: "~/.pi/openai-auth.json" }).env).toEqual({
      configFile: "PI_OPENAI_AUTH_FILE",
      noWebSearch: "PI_OPENAI_AUTH_NO_WEB_SEARCH",
      webSockets: "PI_OPENAI_AUTH_WEBSOCKETS",
      rawWebSocket: "PI_OPENAI_AUTH_RAW_WS",
      dump: "PI_OPENAI_AUTH_DUMP",
      dumpDir: "PI_OPENAI_AUTH_DUMP_DIR",
      codexApiEndpoint: "PI_OPENAI_AUTH_CODEX_ENDPOINT",
      issuer: "PI_OPENAI_AUTH_ISSUER",
      usageEndpoint: "PI_OPENAI_AUTH_USAGE_ENDPOINT",
      codexVersion: "PI_OPENAI_AUTH_CODEX_VERSION",
      logLevel: "PI_OPENAI_AUTH_LOG_LEVEL",
      logFile: "PI_OPENAI_AUTH_LOG_FILE",
    })
  })

  test("another host's variables are not read, its own are", () => {
    const pi = settingsNames({ prefix: "PI_OPENAI_AUTH", configFile: "~/.pi/openai-auth.json" })
    const env = { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1", PI_OPENAI_AUTH_ISSUER: "http://127.0.0.1:9" }
    const s = ok(env, undefined, pi)
    expect(s.webSockets).toBe(false)
    expect(s.issuer).toBe("http://127.0.0.1:9")
    expect(s.configFile).toBe("/home/u/.pi/openai-auth.json")
    expect(s.logFile).toBe("/tmp/t/pi-openai-auth.log")
    expect(s.dumpDir).toBe("/tmp/t/pi-openai-auth-dumps")
    expect(ok(env).webSockets).toBe(true)
  })

  test("a bad value names the host's variable", () => {
    const pi = settingsNames({ prefix: "PI_OPENAI_AUTH", configFile: "/x.json" })
    const result = resolveSettings({ names: pi, env: { PI_OPENAI_AUTH_DUMP: "maybe" } }, undefined, defaults)
    expect(Result.isFailure(result) && result.failure.key).toBe("PI_OPENAI_AUTH_DUMP")
  })
})

describe("precedence: env over file over default", () => {
  const cases: ReadonlyArray<{
    field: keyof ResolvedSettings
    envVar: string
    envValue: string
    fileValue: unknown
    envExpected: unknown
    fileExpected: unknown
    defaultValue: unknown
  }> = [
    {
      field: "webSockets",
      envVar: "CORTEXKIT_OPENAI_AUTH_WEBSOCKETS",
      envValue: "0",
      fileValue: true,
      envExpected: false,
      fileExpected: true,
      defaultValue: false,
    },
    {
      field: "rawWebSocket",
      envVar: "CORTEXKIT_OPENAI_AUTH_RAW_WS",
      envValue: "yes",
      fileValue: false,
      envExpected: true,
      fileExpected: false,
      defaultValue: false,
    },
    {
      field: "dump",
      envVar: "CORTEXKIT_OPENAI_AUTH_DUMP",
      envValue: "off",
      fileValue: "on",
      envExpected: false,
      fileExpected: true,
      defaultValue: false,
    },
    {
      field: "dumpDir",
      envVar: "CORTEXKIT_OPENAI_AUTH_DUMP_DIR",
      envValue: "/env/dumps",
      fileValue: "/file/dumps",
      envExpected: "/env/dumps",
      fileExpected: "/file/dumps",
      defaultValue: "/tmp/t/test-host-openai-auth-dumps",
    },
    {
      field: "codexApiEndpoint",
      envVar: "CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT",
      envValue: "http://127.0.0.1:1/backend-api/codex/responses",
      fileValue: "https://relay.example/codex",
      envExpected: "http://127.0.0.1:1/backend-api/codex/responses",
      fileExpected: "https://relay.example/codex",
      defaultValue: DEFAULT_CODEX_ENDPOINT,
    },
    {
      field: "issuer",
      envVar: "CORTEXKIT_OPENAI_AUTH_ISSUER",
      envValue: "http://127.0.0.1:2",
      fileValue: "https://issuer.example",
      envExpected: "http://127.0.0.1:2",
      fileExpected: "https://issuer.example",
      defaultValue: DEFAULT_ISSUER,
    },
    {
      field: "usageEndpoint",
      envVar: "CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT",
      envValue: "http://127.0.0.1:3/usage",
      fileValue: "https://usage.example/u",
      envExpected: "http://127.0.0.1:3/usage",
      fileExpected: "https://usage.example/u",
      defaultValue: DEFAULT_USAGE_ENDPOINT,
    },
    {
      field: "codexVersion",
      envVar: "CORTEXKIT_OPENAI_AUTH_CODEX_VERSION",
      envValue: "0.153.4",
      fileValue: "0.150.0",
      envExpected: "0.153.4",
      fileExpected: "0.150.0",
      defaultValue: undefined,
    },
    {
      field: "logLevel",
      envVar: "CORTEXKIT_OPENAI_AUTH_LOG_LEVEL",
      envValue: "TRACE",
      fileValue: "warn",
      envExpected: "trace",
      fileExpected: "warn",
      defaultValue: "info",
    },
  ]
  for (const c of cases) {
    const fileField = c.field
    const read = (s: ResolvedSettings): unknown => s[c.field]
    test(`${c.field}: env wins over file`, () => {
      expect(read(ok({ [c.envVar]: c.envValue }, { [fileField]: c.fileValue }))).toEqual(c.envExpected)
    })
    test(`${c.field}: file wins over default`, () => {
      expect(read(ok({}, { [fileField]: c.fileValue }))).toEqual(c.fileExpected)
    })
    test(`${c.field}: default when neither is set`, () => {
      expect(read(ok({}, {}))).toEqual(c.defaultValue)
      expect(read(ok({}, { [fileField]: null }))).toEqual(c.defaultValue)
    })
  }

  test("logFile comes only from the environment", () => {
    expect(ok({ CORTEXKIT_OPENAI_AUTH_LOG_FILE: "/var/log/x.log" }).logFile).toBe("/var/log/x.log")
    expect(ok({ CORTEXKIT_OPENAI_AUTH_LOG_FILE: "~/x.log" }).logFile).toBe("/home/u/x.log")
    expect(ok({}, { logFile: "/file/x.log" }).logFile).toBe("/tmp/t/test-host-openai-auth.log")
  })

  test("blank string settings fall back", () => {
    expect(ok({ CORTEXKIT_OPENAI_AUTH_ISSUER: "  " }, { issuer: "https://f.example" }).issuer).toBe("https://f.example")
    expect(ok({}, { dumpDir: "" }).dumpDir).toBe("/tmp/t/test-host-openai-auth-dumps")
  })

  test("unknown file keys (the account store) are ignored", () => {
    const file = { accounts: [{ id: "acct_a", refresh: "rt_x" }], routing: "main-first", webSockets: true, v: 3 }
    expect(ok({}, file).webSockets).toBe(true)
  })
})

describe("booleans", () => {
  const truthy = ["1", "true", "TRUE", "yes", "Yes", "on", " ON ", "\ttrue\n"]
  const falsy = ["0", "false", "False", "no", "NO", "off", "", "  "]
  for (const form of truthy) {
    test(`${JSON.stringify(form)} is true`, () => {
      expect(ok({ CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: form }).webSockets).toBe(true)
      expect(ok({}, { dump: form }).dump).toBe(true)
    })
  }
  for (const form of falsy) {
    test(`${JSON.stringify(form)} is false`, () => {
      expect(ok({ CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: form }, { webSockets: true }).webSockets).toBe(false)
      expect(ok({}, { dump: form }).dump).toBe(false)
    })
  }
  for (const bad of ["2", "yep", "truee", "enabled"]) {
    test(`${JSON.stringify(bad)} is an error naming the key and value`, () => {
      const e = err({ CORTEXKIT_OPENAI_AUTH_RAW_WS: bad })
      expect(e.key).toBe("CORTEXKIT_OPENAI_AUTH_RAW_WS")
      expect(e.value).toBe(bad)
      expect(e.message).toContain("CORTEXKIT_OPENAI_AUTH_RAW_WS")
      expect(e.message).toContain(bad)
    })
  }
  test("a bad boolean in the file names the config field", () => {
    const e = err({}, { webSockets: "maybe" })
    expect(e.key).toBe("webSockets")
    expect(e.message).toContain("maybe")
  })
  test("a wrongly typed file field names the config field", () => {
    const e = err({}, { dump: 3 })
    expect(e.key).toBe("dump")
    expect(e.value).toBe("3")
    const nested = err({}, { issuer: { url: "x" } })
    expect(nested.key).toBe("issuer")
    expect(nested.value).toBe('{"url":"x"}')
    expect(nested.message).toContain('config field "issuer"')
    expect(err({}, { webSockets: [true] }).key).toBe("webSockets")
  })
  test("a file that is not an object is an error", () => {
    expect(err({}, [1, 2]).key).toBe("<file>")
    expect(err({}, "text").key).toBe("<file>")
  })
})

describe("NO_WEB_SEARCH", () => {
  test("truthy disables web search and beats the file", () => {
    expect(ok({ CORTEXKIT_OPENAI_AUTH_NO_WEB_SEARCH: "1" }, { webSearch: true }).webSearch).toBe(false)
    expect(ok({ CORTEXKIT_OPENAI_AUTH_NO_WEB_SEARCH: "on" }).webSearch).toBe(false)
  })
  test("falsy leaves the file (or the default) in charge", () => {
    expect(ok({ CORTEXKIT_OPENAI_AUTH_NO_WEB_SEARCH: "0" }, { webSearch: false }).webSearch).toBe(false)
    expect(ok({ CORTEXKIT_OPENAI_AUTH_NO_WEB_SEARCH: "" }).webSearch).toBe(true)
    expect(ok({}, { webSearch: false }).webSearch).toBe(false)
  })
  test("a bad value is an error", () => {
    expect(err({ CORTEXKIT_OPENAI_AUTH_NO_WEB_SEARCH: "please" }).key).toBe("CORTEXKIT_OPENAI_AUTH_NO_WEB_SEARCH")
  })
})

describe("URLs and log level", () => {
  for (const bad of ["not a url", "ftp://x.example/", "chatgpt.com/backend-api", "file:///etc/passwd"]) {
    test(`env ${JSON.stringify(bad)} is rejected`, () => {
      const e = err({ CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: bad })
      expect(e.key).toBe("CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT")
      expect(e.value).toBe(bad)
    })
  }
  test("a bad URL in the file names the field", () => {
    const e = err({}, { usageEndpoint: "ws://x/usage" })
    expect(e.key).toBe("usageEndpoint")
    expect(e.message).toContain("ws://x/usage")
  })
  test("a codex version that is not one is an error naming the key", () => {
    expect(err({ CORTEXKIT_OPENAI_AUTH_CODEX_VERSION: "latest" }).key).toBe("CORTEXKIT_OPENAI_AUTH_CODEX_VERSION")
    expect(err({}, { codexVersion: "0.144" }).key).toBe("codexVersion")
    expect(ok({ CORTEXKIT_OPENAI_AUTH_CODEX_VERSION: " 0.153.0-alpha.5 " }).codexVersion).toBe("0.153.0-alpha.5")
  })
  test("a bad log level names the key", () => {
    expect(err({ CORTEXKIT_OPENAI_AUTH_LOG_LEVEL: "verbose" }).key).toBe("CORTEXKIT_OPENAI_AUTH_LOG_LEVEL")
    expect(err({}, { logLevel: "loud" }).key).toBe("logLevel")
  })
  test("wsUrlFor swaps the scheme only", () => {
    expect(wsUrlFor("https://chatgpt.com/backend-api/codex/responses")).toBe(
      "wss://chatgpt.com/backend-api/codex/responses",
    )
    expect(wsUrlFor("http://127.0.0.1:8080/backend-api/codex/responses?x=1")).toBe(
      "ws://127.0.0.1:8080/backend-api/codex/responses?x=1",
    )
  })
})

describe("config path", () => {
  const home = "/home/u"
  test("the file variable replaces the host's default", () => {
    expect(configPath(testSource({ CORTEXKIT_OPENAI_AUTH_FILE: "/explicit/auth.json" }), home)).toBe(
      "/explicit/auth.json",
    )
    expect(configPath(testSource({ CORTEXKIT_OPENAI_AUTH_FILE: "~/a.json" }), home)).toBe("/home/u/a.json")
    expect(configPath(testSource({ CORTEXKIT_OPENAI_AUTH_FILE: "  " }), home)).toBe(
      "/home/u/.config/test-host/openai-auth.json",
    )
    expect(configPath(testSource(), home)).toBe("/home/u/.config/test-host/openai-auth.json")
  })
  test("the host's default may depend on the environment", () => {
    const names: SettingsNames = { ...TEST_NAMES, defaultConfigFile: (env, h) => `${env.HOST_DIR ?? h}/s.json` }
    expect(ok({ HOST_DIR: "/cfg" }, undefined, names).configFile).toBe("/cfg/s.json")
    expect(ok({}, undefined, names).configFile).toBe("/home/u/s.json")
  })
})

describe("loadSettings through Files", () => {
  const dir = mkdtempSync(join(tmpdir(), "settings-test-"))
  const { effect } = testEffect(Files.layer)
  const envFor = (name: string) => testSource({ CORTEXKIT_OPENAI_AUTH_FILE: join(dir, name) })

  effect("a missing file means defaults", () =>
    Effect.gen(function* () {
      const s = yield* loadSettings(envFor("missing.json"), defaults)
      expect(s.webSearch).toBe(true)
      expect(s.configFile).toBe(join(dir, "missing.json"))
    }),
  )

  effect("reads the file's settings and ignores the rest", () =>
    Effect.gen(function* () {
      writeFileSync(join(dir, "good.json"), JSON.stringify({ accounts: {}, webSockets: "yes", logLevel: "debug" }))
      const s = yield* loadSettings(envFor("good.json"), defaults)
      expect(s.webSockets).toBe(true)
      expect(s.logLevel).toBe("debug")
    }),
  )

  effect("a non-JSON file is a SettingsError with the path and the reason", () =>
    Effect.gen(function* () {
      writeFileSync(join(dir, "bad.json"), "{ webSockets: true,")
      const exit = yield* Effect.exit(loadSettings(envFor("bad.json"), defaults))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(loadSettings(envFor("bad.json"), defaults))
      expect(error._tag).toBe("SettingsError")
      expect(error.path).toBe(join(dir, "bad.json"))
      expect(error.message).toContain(join(dir, "bad.json"))
      expect(error.message).toContain("not valid JSON")
    }),
  )

  effect("a bad value in the file carries the path too", () =>
    Effect.gen(function* () {
      writeFileSync(join(dir, "badval.json"), JSON.stringify({ issuer: "nope" }))
      const error = yield* Effect.flip(loadSettings(envFor("badval.json"), defaults))
      expect(error.key).toBe("issuer")
      expect(error.path).toBe(join(dir, "badval.json"))
    }),
  )

  effect("an unreadable config path is a SettingsError", () =>
    Effect.gen(function* () {
      // a directory where the file should be: unreadable even for root
      const path = join(dir, "a-directory.json")
      mkdirSync(path)
      const error = yield* Effect.flip(loadSettings(envFor("a-directory.json"), defaults))
      expect(error._tag).toBe("SettingsError")
      expect(error.path).toBe(path)
      expect(error.message).toContain("cannot read")
    }),
  )

  test("cleanup", () => {
    rmSync(dir, { recursive: true, force: true })
    expect(() => readFileSync(join(dir, "good.json"))).toThrow()
  })
})

describe("Settings service", () => {
  it.effect("layer(resolved) provides exactly what it was given", () =>
    Effect.gen(function* () {
      const resolved = ok({ CORTEXKIT_OPENAI_AUTH_DUMP: "1" })
      const s = yield* Effect.provide(Settings, Settings.layer(resolved))
      expect(s.dump).toBe(true)
      expect(s).toEqual(resolved)
    }),
  )

  it.effect("layerFrom reads the source's environment and the file it names", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "settings-env-"))
      const path = join(dir, "auth.json")
      writeFileSync(path, JSON.stringify({ rawWebSocket: true }))
      const source = testSource({ CORTEXKIT_OPENAI_AUTH_FILE: path, CORTEXKIT_OPENAI_AUTH_LOG_LEVEL: "warn" })
      const s = yield* Effect.provide(Settings, Settings.layerFrom(source).pipe(Layer.provide(Files.layer))).pipe(
        Effect.ensuring(Effect.sync(() => rmSync(dir, { recursive: true, force: true }))),
      )
      expect(s.rawWebSocket).toBe(true)
      expect(s.logLevel).toBe("warn")
      expect(s.configFile).toBe(path)
    }),
  )

  it.effect("layerFrom with ignoreBadFile serves the environment and defaults past a broken file", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "settings-bad-"))
      const path = join(dir, "auth.json")
      writeFileSync(path, "{ nope")
      const source = testSource({ CORTEXKIT_OPENAI_AUTH_FILE: path, CORTEXKIT_OPENAI_AUTH_DUMP: "1" })
      const layer = (ignoreBadFile: boolean) =>
        Settings.layerFrom(source, { ignoreBadFile }).pipe(Layer.provide(Files.layer))
      const lenient = yield* Effect.provide(Settings, layer(true))
      const strict = yield* Effect.flip(Effect.provide(Settings, layer(false)))
      rmSync(dir, { recursive: true, force: true })
      expect(lenient.dump).toBe(true)
      expect(lenient.configFile).toBe(path)
      expect(strict.path).toBe(path)
    }),
  )
})
