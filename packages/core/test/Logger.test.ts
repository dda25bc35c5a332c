import { afterAll, describe, expect } from "bun:test"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Deferred, Effect, Fiber, Layer, Redacted, Result } from "effect"
import { TestClock } from "effect/testing"
import { Files } from "../src/Files.ts"
import { type FileLoggerOptions, formatLine, Logger, MAX_LOG_BYTES, parseLogLevel } from "../src/Logger.ts"
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

/** runs `body` with the file logger installed; the layer's scope closes (and the file is complete) after it */
const withFileLog = <A, E, R>(options: FileLoggerOptions, body: Effect.Effect<A, E, R>) =>
  body.pipe(Effect.provide(Logger.layerWith(options)))

describe("Logger", () => {
  effect("Effect.log* lines land in the file: ISO time from the Clock, level, message, JSON fields", () =>
    Effect.gen(function* () {
      const path = join(freshDir(), "a.log")
      yield* withFileLog(
        { path, level: "info" },
        Effect.gen(function* () {
          yield* TestClock.adjust("90 seconds")
          yield* Effect.logInfo("hello world", { account: "acct_a", n: 3 })
          yield* Effect.logError("line\nbreak")
          yield* Effect.logWarning("two", "words", { a: 1 }, { b: 2 })
        }),
      )
      expect(lines(path)).toEqual([
        `1970-01-01T00:01:30.000Z INFO hello world {"account":"acct_a","n":3}`,
        "1970-01-01T00:01:30.000Z ERROR line\\nbreak",
        `1970-01-01T00:01:30.000Z WARN two words {"a":1,"b":2}`,
      ])
    }),
  )

  effect("log annotations become fields and a failure cause is logged as `cause`", () =>
    Effect.gen(function* () {
      const path = join(freshDir(), "ann.log")
      yield* withFileLog(
        { path, level: "info" },
        Effect.gen(function* () {
          yield* Effect.logInfo("annotated", { n: 1 }).pipe(Effect.annotateLogs({ account: "acct_b" }))
          yield* Effect.fail(new Error("disk on fire")).pipe(
            Effect.catchCause((cause) => Effect.logWarning("failed", cause)),
          )
        }),
      )
      const [annotated, failed] = lines(path)
      expect(annotated).toEndWith(`INFO annotated {"account":"acct_b","n":1}`)
      expect(failed).toContain(`WARN failed {"cause":{"name":"Error","message":"disk on fire"}}`)
    }),
  )

  effect("lines below the level are dropped; setLevel changes it for fibers already running", () =>
    Effect.gen(function* () {
      const path = join(freshDir(), "b.log")
      yield* withFileLog(
        { path, level: "info" },
        Effect.gen(function* () {
          const log = yield* Logger
          const go = yield* Deferred.make<void>()
          const setAlready = yield* Deferred.make<void>()
          // a fiber started before the change, as a keep-warm timer or an open stream would be
          const running = yield* Effect.forkChild(
            Effect.gen(function* () {
              yield* Effect.logDebug("hidden-0")
              yield* Deferred.succeed(go, undefined)
              yield* Deferred.await(setAlready)
              yield* Effect.logTrace("shown-by-running-fiber")
            }),
          )
          yield* Deferred.await(go)
          yield* Effect.logDebug("hidden-1")
          yield* log.trace("hidden-2")
          yield* Effect.logWarning("shown-1")
          expect(yield* log.level).toBe("info")
          yield* log.setLevel("trace")
          yield* Deferred.succeed(setAlready, undefined)
          yield* Fiber.join(running)
          expect(yield* log.level).toBe("trace")
          yield* log.trace("shown-2")
          yield* log.setLevel("error")
          yield* Effect.logWarning("hidden-3")
          yield* log.error("shown-3")
        }),
      )
      expect(read(path)).not.toContain("hidden")
      expect(lines(path).map((l) => l.split(" ").slice(1, 3).join(" "))).toEqual([
        "WARN shown-1",
        "TRACE shown-by-running-fiber",
        "TRACE shown-2",
        "ERROR shown-3",
      ])
    }),
  )

  effect("a suppressed call through the service is the shared no-op effect", () =>
    Effect.gen(function* () {
      const log = yield* Effect.provide(Logger, Logger.layerWith({ path: join(freshDir(), "c.log"), level: "error" }))
      expect(log.debug("x", { big: "y" })).toBe(log.trace("z"))
      expect(log.debug("x")).toBe(Effect.void)
    }),
  )

  effect("a log call never waits for the disk: it returns while the append is stuck, the line follows", () =>
    Effect.gen(function* () {
      const path = join(freshDir(), "slow.log")
      const gate = yield* Deferred.make<void>()
      const real = yield* Files
      const stuck = Layer.succeed(Files, {
        ...real,
        append: (p, data, options) => Effect.andThen(Deferred.await(gate), real.append(p, data, options)),
      })
      yield* Effect.gen(function* () {
        yield* Effect.logInfo("queued while the disk hangs")
        yield* Effect.logInfo("and another")
        expect(read(path)).toBe("")
        yield* Deferred.succeed(gate, undefined)
        yield* (yield* Logger).flush
        expect(lines(path).map((l) => l.split(" ").slice(2).join(" "))).toEqual([
          "queued while the disk hangs",
          "and another",
        ])
      }).pipe(Effect.provide(Logger.layerWith({ path, level: "info" }).pipe(Layer.provide(stuck))))
    }),
  )

  effect("file is created 0600 in a 0700 directory", () =>
    Effect.gen(function* () {
      const dir = join(freshDir(), "nested", "deeper")
      const path = join(dir, "d.log")
      yield* withFileLog({ path, level: "info" }, Effect.logInfo("first"))
      expect(statSync(path).mode & 0o777).toBe(0o600)
      expect(statSync(dir).mode & 0o777).toBe(0o700)
    }),
  )

  effect("secrets never reach the file", () =>
    Effect.gen(function* () {
      const path = join(freshDir(), "e.log")
      yield* withFileLog(
        { path, level: "trace" },
        Effect.logInfo(`refreshing with rt_abcdefghijklmnop and Bearer ${jwt}`, {
          access: Redacted.make("raw-access-value"),
          refresh_token: "raw-refresh-value",
          headers: { Authorization: "Bearer raw-bearer-value", cookie: "sid=raw-cookie" },
          body: `{"api_key":"raw-api-key"}`,
          nested: [{ password: "raw-password" }, `sk-proj-${"x".repeat(24)}`],
          error: new Error(`token=raw-error-token`),
        }),
      )
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
      yield* withFileLog(
        { path, level: "info", maxBytes: 400 },
        Effect.gen(function* () {
          const log = yield* Logger
          // one line at a time and in bursts: the writer takes whatever is queued as one batch
          for (let i = 0; i < 50; i++) {
            yield* Effect.logInfo(`line ${String(i).padStart(3, "0")} ${"x".repeat(40)}`)
            yield* log.flush
          }
          for (let i = 50; i < 100; i++) yield* Effect.logInfo(`line ${String(i).padStart(3, "0")} ${"x".repeat(40)}`)
        }),
      )
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
        const chunk = "y".repeat(256 * 1024)
        yield* withFileLog(
          { path, level: "info" },
          Effect.gen(function* () {
            for (let i = 0; i < 24; i++) yield* Effect.logInfo(chunk)
          }),
        )
        expect(readdirSync(dir).sort()).toEqual(["big.log", "big.log.1"])
        expect(statSync(`${path}.1`).size).toBeLessThanOrEqual(MAX_LOG_BYTES)
        expect(statSync(`${path}.1`).size).toBeGreaterThan(MAX_LOG_BYTES - 300 * 1024)
      }),
    30_000,
  )

  live("appends from many fibers never interleave", () =>
    Effect.gen(function* () {
      const path = join(freshDir(), "f.log")
      yield* withFileLog(
        { path, level: "info" },
        Effect.forEach(
          Array.from({ length: 300 }, (_, i) => i),
          (i) => Effect.logInfo(`fiber ${i}`, { payload: "z".repeat(i * 10) }),
          { concurrency: "unbounded", discard: true },
        ),
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
      yield* withFileLog(
        { path: join(blocker, "x.log"), level: "info", notice: (text) => notices.push(text) },
        Effect.gen(function* () {
          for (let i = 0; i < 5; i++) {
            yield* Effect.logError(`attempt ${i} Bearer ${jwt}`)
            yield* (yield* Logger).flush
          }
        }),
      )
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
        yield* Effect.logInfo("dropped")
        yield* Effect.logWarning("kept")
      }).pipe(Effect.provide(layer))
      expect(lines(path).map((l) => l.split(" ").slice(1).join(" "))).toEqual(["WARN kept"])
    }),
  )

  effect("layerSilent drops everything (the console too); layerCapture hands over formatted lines", () =>
    Effect.gen(function* () {
      const printed: Array<unknown> = []
      const original = console.log
      console.log = (...args: Array<unknown>) => void printed.push(args)
      try {
        yield* Effect.gen(function* () {
          const silent = yield* Logger
          yield* Effect.logError("nowhere")
          yield* silent.error("nowhere either")
          yield* silent.setLevel("debug")
          expect(yield* silent.level).toBe("debug")
        }).pipe(Effect.provide(Logger.layerSilent))
      } finally {
        console.log = original
      }
      expect(printed).toEqual([])

      const captured: Array<string> = []
      yield* Effect.gen(function* () {
        yield* Effect.logDebug("dropped")
        yield* Effect.logInfo("kept", { token: "t-secret" })
      }).pipe(Effect.provide(Logger.layerCapture((line) => captured.push(line), "info")))
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
