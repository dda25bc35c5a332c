import { afterAll, describe, expect } from "bun:test"
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Exit, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { FileLock, pidAlive } from "../src/FileLock.ts"

const root = mkdtempSync(join(tmpdir(), "oa-lock-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshLock = () => {
  const dir = join(root, `case-${++n}`)
  mkdirSync(dir, { recursive: true })
  return join(dir, "store.json.lock")
}
const owner = (path: string) => JSON.parse(readFileSync(path, "utf8"))
const plant = (path: string, pid: number, token = "theirs", host = hostname()) =>
  writeFileSync(path, JSON.stringify({ pid, hostname: host, createdAt: Date.now(), token }))

const deadPid = async () => {
  const child = Bun.spawn(["true"])
  await child.exited
  return child.pid
}

const it = testEffect(FileLock.layer.pipe(Layer.provideMerge(Files.layer)))

/** the real disk, counting exclusive creates (each a temp file, a link and a removal beside the lock) and looks at a lock's owner */
const creates = { count: 0, looks: 0 }
const countingFiles = Layer.effect(
  Files,
  Effect.gen(function* () {
    const files = yield* Files
    return Files.of({
      ...files,
      createExclusive: (path, data, options) =>
        Effect.tap(files.createExclusive(path, data, options), () => Effect.sync(() => creates.count++)),
      readText: (path) =>
        Effect.tap(files.readText(path), () => Effect.sync(() => path.endsWith(".lock") && creates.looks++)),
    })
  }),
).pipe(Layer.provide(Files.layer))
const itCounting = testEffect(FileLock.layer.pipe(Layer.provideMerge(countingFiles)))
/** lets real file I/O finish between TestClock steps */
const ioTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

describe("FileLock", () => {
  it.live("writes its owner, and releases on scope close", () =>
    Effect.gen(function* () {
      const lock = yield* FileLock
      const path = freshLock()
      const token = yield* lock.withLock(path, (handle) =>
        Effect.sync(() => {
          const o = owner(path)
          expect(o.pid).toBe(process.pid)
          expect(o.hostname).toBe(hostname())
          expect(o.token).toBe(handle.token)
          expect(typeof o.createdAt).toBe("number")
          return handle.token
        }),
      )
      expect(token.length).toBeGreaterThan(0)
      expect(readdirSync(join(path, ".."))).toEqual([])
    }),
  )

  it.live("breaks the lock of a dead process on this host", () =>
    Effect.gen(function* () {
      const lock = yield* FileLock
      const path = freshLock()
      const pid = yield* Effect.promise(deadPid)
      expect(pidAlive(pid)).toBe(false)
      plant(path, pid)
      const handle = yield* lock.withLock(path, (h) => Effect.succeed({ token: h.token, onDisk: owner(path).token }), {
        timeoutMs: 1_000,
      })
      expect(handle.onDisk).toBe(handle.token)
      expect(readdirSync(join(path, ".."))).toEqual([])
    }),
  )

  it.live("breaks a live owner's lock only once its heartbeat is older than the TTL", () =>
    Effect.gen(function* () {
      const lock = yield* FileLock
      const path = freshLock()
      plant(path, process.pid, "frozen")
      const old = (Date.now() - 60_000) / 1000
      utimesSync(path, old, old)
      const got = yield* lock.withLock(path, (h) => Effect.succeed(owner(path).token === h.token), {
        timeoutMs: 1_000,
        staleMs: 30_000,
      })
      expect(got).toBe(true)
    }),
  )

  it.live("a dead pid on another host is not judged by pid", () =>
    Effect.gen(function* () {
      const lock = yield* FileLock
      const path = freshLock()
      plant(path, yield* Effect.promise(deadPid), "remote", "some-other-host")
      const error = yield* Effect.flip(lock.withLock(path, () => Effect.void, { timeoutMs: 150 }))
      expect(error._tag).toBe("LockTimeout")
      expect(owner(path).token).toBe("remote")
    }),
  )

  it.effect("a live lock makes the caller wait, then fail with LockTimeout naming the path and owner", () =>
    Effect.gen(function* () {
      const lock = yield* FileLock
      const path = freshLock()
      yield* TestClock.setTime(Date.now())
      plant(path, process.pid, "held")
      const realStart = Date.now()
      const fiber = yield* Effect.forkChild(lock.withLock(path, () => Effect.void, { timeoutMs: 5_000 }))
      let exit = Option.none<Exit.Exit<void, unknown>>()
      let steps = 0
      while (Option.isNone(exit) && steps < 10_000) {
        yield* ioTurn
        yield* TestClock.adjust(20)
        exit = Option.fromUndefinedOr(fiber.pollUnsafe())
        steps++
      }
      expect(Option.isSome(exit)).toBe(true)
      const result = Option.getOrThrow(exit)
      expect(Exit.isFailure(result)).toBe(true)
      const error = Exit.isFailure(result) ? result.cause.reasons.find((r) => r._tag === "Fail") : undefined
      const failure =
        error?._tag === "Fail"
          ? (error.error as { _tag: string; path: string; owner?: string; message: string; waitedMs: number })
          : undefined
      expect(failure?._tag).toBe("LockTimeout")
      expect(failure?.path).toBe(path)
      expect(failure?.owner).toContain(`pid ${process.pid}`)
      expect(failure?.message).toContain(path)
      expect(failure?.waitedMs).toBeGreaterThanOrEqual(5_000)
      // the 5 s were TestClock time, not real time
      expect(Date.now() - realStart).toBeLessThan(4_000)
      expect(owner(path).token).toBe("held")
    }),
  )

  itCounting.effect(
    "the head of the queue does not try a lock that is there: one exclusive create, once it is free",
    () =>
      Effect.gen(function* () {
        const lock = yield* FileLock
        const path = freshLock()
        yield* TestClock.setTime(Date.now())
        plant(path, process.pid, "held")
        creates.count = 0
        creates.looks = 0
        const fiber = yield* Effect.forkChild(
          lock.withLock(path, (h) => Effect.succeed(h.token), { timeoutMs: 600_000 }),
        )
        // the head of the queue polls (every 12-25 ms) while the lock is held: five looks at its owner
        for (let steps = 0; creates.looks < 5 && steps < 10_000; steps++) {
          yield* ioTurn
          yield* TestClock.adjust(20)
        }
        expect(creates.looks).toBeGreaterThanOrEqual(5)
        expect(creates.count).toBe(0)
        rmSync(path)
        let exit = Option.none<Exit.Exit<string, unknown>>()
        for (let steps = 0; Option.isNone(exit) && steps < 1_000; steps++) {
          yield* ioTurn
          yield* TestClock.adjust(20)
          exit = Option.fromUndefinedOr(fiber.pollUnsafe())
        }
        expect(Option.isSome(exit) && Exit.isSuccess(exit.value)).toBe(true)
        expect(creates.count).toBe(1)
      }),
  )

  it.live("release removes only its own lock", () =>
    Effect.gen(function* () {
      const lock = yield* FileLock
      const path = freshLock()
      yield* lock.withLock(path, () =>
        // someone judged us stale and took over while we were still inside
        Effect.sync(() => plant(path, process.pid, "successor")),
      )
      expect(owner(path).token).toBe("successor")
      expect(readdirSync(join(path, ".."))).toEqual(["store.json.lock"])
    }),
  )

  it.live("the first holder removes what dead processes left beside the lock, and nothing of a live one", () =>
    Effect.gen(function* () {
      const lock = yield* FileLock
      const path = freshLock()
      const dead = yield* Effect.promise(deadPid)
      const live = process.ppid
      const names = (pid: number) => [
        `store.json.lock.${pid}.0123456789ab.tmp`,
        `store.json.lock.release.${pid}.0123456789ab`,
        `store.json.lock.stale.${pid}.0123456789ab`,
      ]
      for (const name of [...names(dead), ...names(live)]) writeFileSync(join(path, "..", name), "{}")
      writeFileSync(join(path, "..", "unrelated.txt"), "mine")
      yield* lock.withLock(path, () => Effect.void)
      expect(readdirSync(join(path, "..")).sort()).toEqual([...names(live), "unrelated.txt"].sort())
    }),
  )

  it.live("fibers of one process take turns (no two inside at once)", () =>
    Effect.gen(function* () {
      const lock = yield* FileLock
      const path = freshLock()
      let inside = 0
      let maxInside = 0
      let done = 0
      yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        () =>
          lock.withLock(path, () =>
            Effect.gen(function* () {
              inside++
              maxInside = Math.max(maxInside, inside)
              yield* Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))
              inside--
              done++
            }),
          ),
        { concurrency: "unbounded" },
      )
      expect(maxInside).toBe(1)
      expect(done).toBe(20)
    }),
  )
})
