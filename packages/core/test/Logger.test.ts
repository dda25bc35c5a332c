import { afterAll, describe, expect } from "bun:test"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Layer, Redacted, Result } from "effect"
import { TestClock } from "effect/testing"
import { Files } from "../src/Files.ts"
import { formatLine, Logger, MAX_LOG_BYTES, makeFileLogger, parseLogLevel } from "../src/Logger.ts"
import { resolveSettings, Settings } from "../src/Settings.ts"
import { testSource } from "./support/settings.ts"

const root = mkdtempSync(join(tmpdir(), "logger-test-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let counter = 0
const freshDir = () => join(root, `case-${++counter}`)

const { effect, live } = testEffect(Files.layer)
const read = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "")
const lines = (path: string) => read(path).split("\n").filter(Boolean)

const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXzEifQ.c2lnbmF0dXJl"

describe("Logger", () => {
  effect("writes ISO time, level, message and JSON fields (time from the Clock)", () =>
    Effect.gen(function* () {
      const path = join(freshDir(), "a.log")
      const log = yield* makeFileLogger({ path, level: "info" })
      yield* TestClock.adjust("90 seconds")
      yield* log.info("hello world", { account: "acct_a", n: 3 })
      yield* log.error("line\nbreak")
      expect(lines(path)).toEqual([
        `1970-01-01T00:01:30.000Z INFO hello world {"account":"acct_a","n":3}`,
        "1970-01-01T00:01:30.000Z ERROR line\\nbreak",
      ])
    }),
  )

  effect("lines below the level are dropped; setLevel changes it live; level reads it back", () =>
    Effect.gen(function* () {
      const path = join(freshDir(), "b.log")
      const log = yield* makeFileLogger({ path, level: "info" })
      yield* log.debug("hidden-1")
      yield* log.trace("hidden-2")
      yield* log.warn("shown-1")
      expect(yield* log.level).toBe("info")
      yield* log.setLevel("trace")
      expect(yield* log.level).toBe("trace")
      yield* log.trace("shown-2")
      yield* log.setLevel("error")
      yield* log.warn("hidden-3")
      yield* log.error("shown-3")
      const text = read(path)
      expect(text).not.toContain("hidden")
      expect(lines(path).map((l) => l.split(" ").slice(1, 3).join(" "))).toEqual([
        "WARN shown-1",
        "TRACE shown-2",
        "ERROR shown-3",
      ])
    }),
  )

  effect("a suppressed call is the shared no-op effect", () =>
    Effect.gen(function* () {
      const log = yield* makeFileLogger({ path: join(freshDir(), "c.log"), level: "error" })
      expect(log.debug("x", { big: "y" })).toBe(log.trace("z"))
      expect(log.debug("x")).toBe(Effect.void)
    }),
  )

  effect("file is created 0600 in a 0700 directory", () =>
    Effect.gen(function* () {
      const dir = join(freshDir(), "nested", "deeper")
      const path = join(dir, "d.log")
      const log = yield* makeFileLogger({ path, level: "info" })
      yield* log.info("first")
      expect(statSync(path).mode & 0o777).toBe(0o600)
      expect(statSync(dir).mode & 0o777).toBe(0o700)
    }),
  )

  effect("secrets never reach the file", () =>
    Effect.gen(function* () {
      const path = join(freshDir(), "e.log")
      const log = yield* makeFileLogger({ path, level: "trace" })
      yield* log.info(`refreshing with rt_abcdefghijklmnop and Bearer ${jwt}`, {
        access: Redacted.make("raw-access-value"),
        refresh_token: "raw-refresh-value",
        headers: { Authorization: "Bearer raw-bearer-value", cookie: "sid=raw-cookie" },
        body: `{"api_key":"raw-api-key"}`,
        nested: [{ password: "raw-password" }, `sk-proj-${"x".repeat(24)}`],
        error: new Error(`token=raw-error-token`),
      })
      const text = read(path)
      for (const secret of [
        "rt_abcdefghijklmnop",
        jwt,
        "raw-access-value",
        "raw-refresh-value",
        "raw-bearer-value",
        "raw-cookie",
        "raw-api-key",
        "raw-password",
        "x".repeat(24),
        "raw-error-token",
      ])
        expect(text).not.toContain(secret)
      expect(text).toContain("[REDACTED]")
      expect(text.trim().split("\n")).toHaveLength(1)
    }),
  )

  effect("rotates before exceeding maxBytes and keeps exactly three older generations", () =>
    Effect.gen(function* () {
      const dir = freshDir()
      const path = join(dir, "r.log")
      const log = yield* makeFileLogger({ path, level: "info", maxBytes: 400 })
      for (let i = 0; i < 100; i++) yield* log.info(`line ${String(i).padStart(3, "0")} ${"x".repeat(40)}`)
      expect(readdirSync(dir).sort()).toEqual(["r.log", "r.log.1", "r.log.2", "r.log.3"])
      for (const name of ["r.log", "r.log.1", "r.log.2", "r.log.3"]) {
        const size = statSync(join(dir, name)).size
        expect(size).toBeLessThanOrEqual(400)
        expect(size).toBeGreaterThan(0)
        expect(statSync(join(dir, name)).mode & 0o777).toBe(0o600)
      }
      // generations are ordered: newest lines in the live file, then .1, .2, .3
      const numbers = (name: string) => lines(join(dir, name)).map((l) => Number(l.split(" ")[3]))
      const all = [...numbers("r.log.3"), ...numbers("r.log.2"), ...numbers("r.log.1"), ...numbers("r.log")]
      expect(all.at(-1)).toBe(99)
      expect(all).toEqual(all.map((_, i) => (all[0] ?? 0) + i))
    }),
  )

  live(
    "the default limit is 5 MiB",
    () =>
      Effect.gen(function* () {
        expect(MAX_LOG_BYTES).toBe(5 * 1024 * 1024)
        const dir = freshDir()
        const path = join(dir, "big.log")
        const log = yield* makeFileLogger({ path, level: "info" })
        const chunk = "y".repeat(256 * 1024)
        for (let i = 0; i < 24; i++) yield* log.info(chunk)
        expect(readdirSync(dir).sort()).toEqual(["big.log", "big.log.1"])
        expect(statSync(`${path}.1`).size).toBeLessThanOrEqual(MAX_LOG_BYTES)
        expect(statSync(`${path}.1`).size).toBeGreaterThan(MAX_LOG_BYTES - 300 * 1024)
      }),
    30_000,
  )

  live("appends from many fibers never interleave", () =>
    Effect.gen(function* () {
      const path = join(freshDir(), "f.log")
      const log = yield* makeFileLogger({ path, level: "info" })
      yield* Effect.forEach(
        Array.from({ length: 300 }, (_, i) => i),
        (i) => log.info(`fiber ${i}`, { payload: "z".repeat(i * 10) }),
        { concurrency: "unbounded", discard: true },
      )
      const written = lines(path)
      expect(written).toHaveLength(300)
      const seen = new Set<number>()
      for (const line of written) {
        const match = /^\S+ INFO fiber (\d+) \{"payload":"(z*)"\}$/.exec(line)
        expect(match).not.toBeNull()
        const i = Number(match?.[1])
        expect(match?.[2]?.length).toBe(i * 10)
        seen.add(i)
      }
      expect(seen.size).toBe(300)
    }),
  )

  effect("I/O errors never fail the caller and produce exactly one notice", () =>
    Effect.gen(function* () {
      const blocker = join(root, `not-a-dir-${++counter}`)
      writeFileSync(blocker, "a regular file where the log directory should be")
      const notices: Array<string> = []
      const log = yield* makeFileLogger({
        path: join(blocker, "x.log"),
        level: "info",
        notice: (text) => notices.push(text),
      })
      for (let i = 0; i < 5; i++) yield* log.error(`attempt ${i} Bearer ${jwt}`)
      expect(notices).toHaveLength(1)
      expect(notices[0]).toContain(join(blocker, "x.log"))
      expect(notices[0]).not.toContain(jwt)
    }),
  )

  effect("Logger.layer takes the file and level from Settings", () =>
    Effect.gen(function* () {
      const path = join(freshDir(), "settings.log")
      const resolved = resolveSettings(
        testSource({ CORTEXKIT_OPENAI_AUTH_LOG_FILE: path, CORTEXKIT_OPENAI_AUTH_LOG_LEVEL: "warn" }),
        undefined,
        { tmpDir: root, homeDir: root },
      )
      if (Result.isFailure(resolved)) return yield* Effect.die(resolved.failure)
      const layer = Logger.layer.pipe(Layer.provide(Settings.layer(resolved.success)))
      yield* Effect.gen(function* () {
        const log = yield* Logger
        expect(yield* log.level).toBe("warn")
        yield* log.info("dropped")
        yield* log.warn("kept")
      }).pipe(Effect.provide(layer))
      expect(lines(path).map((l) => l.split(" ").slice(1).join(" "))).toEqual(["WARN kept"])
    }),
  )

  effect("layerSilent and layerCapture", () =>
    Effect.gen(function* () {
      const silent = yield* Effect.provide(Logger, Logger.layerSilent)
      yield* silent.error("nowhere")
      yield* silent.setLevel("debug")
      expect(yield* silent.level).toBe("debug")

      const captured: Array<string> = []
      const capture = yield* Effect.provide(
        Logger,
        Logger.layerCapture((line) => captured.push(line), "info"),
      )
      yield* capture.debug("dropped")
      yield* capture.info("kept", { token: "t-secret" })
      expect(captured).toEqual([`1970-01-01T00:00:00.000Z INFO kept {"token":"[REDACTED]"}\n`])
    }),
  )

  effect("formatLine and parseLogLevel", () =>
    Effect.sync(() => {
      expect(formatLine(0, "debug", "m", {})).toBe("1970-01-01T00:00:00.000Z DEBUG m\n")
      const cyclic: Record<string, unknown> = {}
      cyclic.me = cyclic
      expect(formatLine(0, "info", "c", { cyclic, n: 1n })).toBe(
        '1970-01-01T00:00:00.000Z INFO c {"cyclic":{"me":"[Circular]"},"n":"1"}\n',
      )
      expect(parseLogLevel(" Debug ")).toBe("debug")
      expect(parseLogLevel("verbose")).toBeUndefined()
    }),
  )
})
