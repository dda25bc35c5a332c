/**
 * The lock's hand-off order: waiters queue with tickets next to the lock and only the oldest live ticket
 * tries to take it. Tickets order attempts, they never replace the exclusive create, so a ticket of a dead
 * process, or one that stopped beating, must not hold anybody up.
 */
import { afterAll, describe, expect } from "bun:test"
import { mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { basename, join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Deferred, Duration, Effect, Fiber, Layer, Stream } from "effect"
import { FileLock, ticketName } from "../src/FileLock.ts"
import { watchDir } from "../src/LockQueue.ts"

const root = mkdtempSync(join(tmpdir(), "oa-lock-fair-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshLock = () => {
  const dir = join(root, `case-${++n}`)
  mkdirSync(dir, { recursive: true })
  return join(dir, "store.json.lock")
}
const plantTicket = (lock: string, atMs: number, pid = process.pid) => {
  const path = join(lock, "..", ticketName(lock, atMs, pid))
  writeFileSync(path, "")
  return path
}
const deadPid = async () => {
  const child = Bun.spawn(["true"])
  await child.exited
  return child.pid
}

const it = testEffect(FileLock.layer.pipe(Layer.provideMerge(Files.layer)))

describe("FileLock hand-off", () => {
  it.live("a free lock goes to the oldest waiting ticket, not to a newcomer", () =>
    Effect.gen(function* () {
      const lock = yield* FileLock
      const path = freshLock()
      // someone else queued first (this process's pid: alive, and its ticket is fresh)
      const earlier = plantTicket(path, Date.now() - 10)
      const entered = yield* Deferred.make<void>()
      const fiber = yield* Effect.forkChild(
        lock.withLock(path, () => Deferred.succeed(entered, undefined), { timeoutMs: 10_000 }),
      )
      // bounded real wait: long enough for many hand-off attempts, yet the newcomer must stay out
      const early = yield* Deferred.await(entered).pipe(Effect.timeoutOption(Duration.millis(300)))
      expect(early._tag).toBe("None")
      expect(readdirSync(join(path, ".."))).not.toContain("store.json.lock")
      // the earlier waiter leaves the queue: the newcomer is next and is woken by the change
      rmSync(earlier)
      const started = performance.now()
      yield* Fiber.join(fiber)
      expect(performance.now() - started).toBeLessThan(2_000)
      expect(readdirSync(join(path, ".."))).toEqual([])
    }),
  )

  it.live("a ticket left by a dead process is removed and holds nobody up", () =>
    Effect.gen(function* () {
      const lock = yield* FileLock
      const path = freshLock()
      plantTicket(path, Date.now() - 10, yield* Effect.promise(deadPid))
      const got = yield* lock.withLock(path, (h) => Effect.succeed(h.waitedMs), { timeoutMs: 2_000 })
      expect(got).toBeLessThan(1_000)
      expect(readdirSync(join(path, ".."))).toEqual([])
    }),
  )

  it.live("a ticket that stopped beating is passed over", () =>
    Effect.gen(function* () {
      const lock = yield* FileLock
      const path = freshLock()
      const frozen = plantTicket(path, Date.now() - 10_000)
      const old = (Date.now() - 10_000) / 1000
      utimesSync(frozen, old, old)
      const got = yield* lock.withLock(path, (h) => Effect.succeed(h.waitedMs), { timeoutMs: 2_000 })
      expect(got).toBeLessThan(1_000)
      // passed over, not deleted: its owner may still be alive
      expect(readdirSync(join(path, ".."))).toEqual([basename(frozen)])
    }),
  )

  it.live("a waiter that times out takes its ticket with it", () =>
    Effect.gen(function* () {
      const lock = yield* FileLock
      const path = freshLock()
      writeFileSync(
        path,
        JSON.stringify({ pid: process.pid, hostname: "elsewhere", createdAt: Date.now(), token: "x" }),
      )
      const error = yield* Effect.flip(lock.withLock(path, () => Effect.void, { timeoutMs: 200 }))
      expect(error._tag).toBe("LockTimeout")
      expect(readdirSync(join(path, ".."))).toEqual(["store.json.lock"])
    }),
  )

  it.live("a waiter's watch hands on only the name it follows, with no look at the others", () =>
    Effect.gen(function* () {
      const files = yield* Files
      const dir = join(freshLock(), "..")
      const ready = yield* Deferred.make<void>()
      const seen = yield* files
        .watchNames(
          dir,
          () => Deferred.doneUnsafe(ready, Effect.void),
          (name) => name === "store.json.lock",
        )
        .pipe(Stream.take(3), Stream.runCollect, Effect.forkChild)
      yield* Deferred.await(ready)
      // what a holder's write does beside the lock: none of it reaches a waiter that follows the lock
      writeFileSync(join(dir, "store.json.123.0123456789ab.tmp"), "x")
      rmSync(join(dir, "store.json.123.0123456789ab.tmp"))
      writeFileSync(join(dir, "store.json.lock"), "{}")
      writeFileSync(join(dir, "store.json"), "{}")
      rmSync(join(dir, "store.json.lock"))
      writeFileSync(join(dir, "store.json.lock"), "{}")
      const names = yield* Fiber.join(seen)
      expect([...names]).toEqual(["store.json.lock", "store.json.lock", "store.json.lock"])
    }),
  )

  it.live("the waiter that follows the lock is woken by its release, however long its poll", () =>
    Effect.gen(function* () {
      const files = yield* Files
      const path = freshLock()
      writeFileSync(path, "{}")
      yield* Effect.scoped(
        Effect.gen(function* () {
          const notices = yield* watchDir(files, join(path, ".."))
          expect(notices.watched()).toBe(true)
          notices.follow(basename(path))
          writeFileSync(`${path}.q.other`, "")
          rmSync(path)
          // a poll of ten minutes: only the notice can end this wait within the test's time
          yield* notices.wait(600_000)
        }),
      )
    }),
  )
})
