import { describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
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
  wsUrlFor,
} from "../src/Settings.ts"

const defaults = { tmpDir: "/tmp/t", homeDir: "/home/u" }

const ok = (env: Env, file?: unknown): ResolvedSettings => {
  const result = resolveSettings(env, file, defaults)
  if (Result.isFailure(result)) throw new Error(`unexpected failure: ${result.failure.message}`)
  return result.success
}

const err = (env: Env, file?: unknown): SettingsError => {
  const result = resolveSettings(env, file, defaults)
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
      dumpDir: "/tmp/t/opencode-openai-auth-dumps",
      codexApiEndpoint: DEFAULT_CODEX_ENDPOINT,
      issuer: DEFAULT_ISSUER,
      usageEndpoint: DEFAULT_USAGE_ENDPOINT,
      logLevel: "info",
      logFile: "/tmp/t/opencode-openai-auth.log",
      configFile: "/home/u/.config/opencode/openai-auth.json",
    })
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
      envVar: "OPENCODE_OPENAI_AUTH_DUMP_DIR",
      envValue: "/env/dumps",
      fileValue: "/file/dumps",
      envExpected: "/env/dumps",
      fileExpected: "/file/dumps",
      defaultValue: "/tmp/t/opencode-openai-auth-dumps",
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
      envVar: "OPENCODE_OPENAI_AUTH_LOG_LEVEL",
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
    expect(ok({ OPENCODE_OPENAI_AUTH_LOG_FILE: "/var/log/x.log" }).logFile).toBe("/var/log/x.log")
    expect(ok({ OPENCODE_OPENAI_AUTH_LOG_FILE: "~/x.log" }).logFile).toBe("/home/u/x.log")
  })

  test("blank string settings fall back", () => {
    expect(ok({ CORTEXKIT_OPENAI_AUTH_ISSUER: "  " }, { issuer: "https://f.example" }).issuer).toBe("https://f.example")
    expect(ok({}, { dumpDir: "" }).dumpDir).toBe("/tmp/t/opencode-openai-auth-dumps")
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
    expect(err({}, { issuer: { url: "x" } }).key).toBe("issuer")
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
    expect(err({ OPENCODE_OPENAI_AUTH_LOG_LEVEL: "verbose" }).key).toBe("OPENCODE_OPENAI_AUTH_LOG_LEVEL")
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
  test("resolution order", () => {
    const all = {
      OPENCODE_OPENAI_AUTH_FILE: "/explicit/auth.json",
      OPENCODE_CONFIG_DIR: "/cfg",
      XDG_CONFIG_HOME: "/xdg",
    }
    expect(configPath(all, home)).toBe("/explicit/auth.json")
    expect(configPath({ ...all, OPENCODE_OPENAI_AUTH_FILE: undefined }, home)).toBe("/cfg/openai-auth.json")
    expect(configPath({ XDG_CONFIG_HOME: "/xdg" }, home)).toBe("/xdg/opencode/openai-auth.json")
    expect(configPath({}, home)).toBe("/home/u/.config/opencode/openai-auth.json")
    expect(configPath({ OPENCODE_CONFIG_DIR: "" }, home)).toBe("/home/u/.config/opencode/openai-auth.json")
  })
  test("is reported in the resolved settings", () => {
    expect(ok({ OPENCODE_CONFIG_DIR: "/cfg/" }).configFile).toBe("/cfg/openai-auth.json")
  })
})

describe("loadSettings through Files", () => {
  const dir = mkdtempSync(join(tmpdir(), "settings-test-"))
  const { effect } = testEffect(Files.layer)
  const envFor = (name: string): Env => ({ OPENCODE_OPENAI_AUTH_FILE: join(dir, name) })

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
    expect(true).toBe(true)
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

  it.effect("layerFromEnvironment reads process.env and the file it names", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "settings-env-"))
      const path = join(dir, "auth.json")
      writeFileSync(path, JSON.stringify({ rawWebSocket: true }))
      const saved = { file: process.env.OPENCODE_OPENAI_AUTH_FILE, level: process.env.OPENCODE_OPENAI_AUTH_LOG_LEVEL }
      process.env.OPENCODE_OPENAI_AUTH_FILE = path
      process.env.OPENCODE_OPENAI_AUTH_LOG_LEVEL = "warn"
      const s = yield* Effect.provide(Settings, Settings.layerFromEnvironment.pipe(Layer.provide(Files.layer))).pipe(
        Effect.ensuring(
          Effect.sync(() => {
            for (const [key, value] of [
              ["OPENCODE_OPENAI_AUTH_FILE", saved.file],
              ["OPENCODE_OPENAI_AUTH_LOG_LEVEL", saved.level],
            ] as const) {
              if (value === undefined) delete process.env[key]
              else process.env[key] = value
            }
            rmSync(dir, { recursive: true, force: true })
          }),
        ),
      )
      expect(s.rawWebSocket).toBe(true)
      expect(s.logLevel).toBe("warn")
      expect(s.configFile).toBe(path)
    }),
  )
})
