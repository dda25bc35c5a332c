/**
 * `Store.observe`, the write-behind for quota readings and usage-limit marks: it never waits for the lock,
 * `read` shows the observation at once, the file gets it once the lock is free, a corrupt file is never
 * overwritten (the observation waits for it to be fixed), closing the scope writes what is pending, and real
 * processes observing the same accounts at once lose nothing: the file ends with the newest reading per
 * account and the latest exhaustion end, beside every locked update they made.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Context, Effect, Exit, Layer, Scope } from "effect"
import { FileLock } from "../src/FileLock.ts"
import { Store } from "../src/Store.ts"
import { KEYS, MARK_BASE, readingAt } from "./workers/observe.ts"

const root = mkdtempSync(join(tmpdir(), "oa-store-behind-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshPath = () => {
  const dir = join(root, `case-${++n}`)
  mkdirSync(dir, { recursive: true })
  return join(dir, "openai-auth.json")
}
const onDisk = (path: string) => JSON.parse(readFileSync(path, "utf8"))
const rawAccount = (id: string, userId: string) => ({
  id,
  userId,
  access: "a",
  refresh: "r",
  expiresAt: 1,
  addedAt: 1,
})
const seed = (path: string) =>
  writeFileSync(
    path,
    JSON.stringify({ version: 1, accounts: [rawAccount("acct_a", "user_a"), rawAccount("acct_b", "user_b")] }),
  )

const it = testEffect(Layer.mergeAll(FileLock.layer, Files.layer).pipe(Layer.provideMerge(Files.layer)))

const openStore = (path: string) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(Store.layerAt(path), scope)
    return { store: Context.get(context, Store), close: Scope.close(scope, Exit.void) }
  })

describe("Store.observe (write-behind)", () => {
  it.effect("never waits for the lock; read shows it at once; the file gets it once the lock is free", () =>
    Effect.gen(function* () {
      const path = freshPath()
      seed(path)
      const { store, close } = yield* openStore(path)
      const held = yield* Scope.make()
      yield* (yield* FileLock).acquire(`${path}.lock`).pipe(Scope.provide(held))

      yield* store.observe({
        exhausted: { main: MARK_BASE, "acct_b/user_b": MARK_BASE + 1 },
        quota: { main: readingAt(7) },
      })
      const seen = yield* store.read
      expect(seen.main?.exhaustedUntil).toBe(MARK_BASE)
      expect(seen.accounts.map((a) => a.exhaustedUntil)).toEqual([undefined, MARK_BASE + 1])
      expect(seen.quota.main?.observedAt).toBe(7)
      // the same document while nothing changes: readers compare by identity
      expect(yield* store.read).toBe(seen)
      expect(onDisk(path).main).toBeUndefined()

      yield* Scope.close(held, Exit.void)
      yield* store.flush
      const disk = onDisk(path)
      expect(disk.main.exhaustedUntil).toBe(MARK_BASE)
      expect(disk.accounts.map((a: { exhaustedUntil?: number }) => a.exhaustedUntil)).toEqual([
        undefined,
        MARK_BASE + 1,
      ])
      expect(disk.quota.main.observedAt).toBe(7)
      yield* close
    }),
  )

  it.effect("a corrupt file is never overwritten; the observation stays pending until the file is fixed", () =>
    Effect.gen(function* () {
      const path = freshPath()
      writeFileSync(path, "{ not json")
      const { store, close } = yield* openStore(path)
      yield* store.observe({ exhausted: { main: MARK_BASE } })
      yield* store.flush
      expect(readFileSync(path, "utf8")).toBe("{ not json")
      expect((yield* Effect.flip(store.read))._tag).toBe("StoreCorrupt")

      seed(path)
      yield* store.flush
      expect(onDisk(path).main.exhaustedUntil).toBe(MARK_BASE)
      expect(onDisk(path).accounts).toHaveLength(2)
      yield* close
    }),
  )

  it.effect("keeps what another process wrote meanwhile, and closing the scope writes what is pending", () =>
    Effect.gen(function* () {
      const path = freshPath()
      seed(path)
      const { store, close } = yield* openStore(path)
      const held = yield* Scope.make()
      yield* (yield* FileLock).acquire(`${path}.lock`).pipe(Scope.provide(held))
      yield* store.observe({ quota: { main: readingAt(10), "acct_a/user_a": readingAt(30) }, exhausted: { main: 5 } })
      // another process, meanwhile: a newer reading for main, a later mark, a setting
      const other = onDisk(path)
      writeFileSync(
        path,
        JSON.stringify({
          ...other,
          routing: "fallback-first",
          main: { state: "active", exhaustedUntil: 9 },
          quota: { main: readingAt(20) },
        }),
      )
      yield* Scope.close(held, Exit.void)
      yield* close
      const disk = onDisk(path)
      expect(disk.routing).toBe("fallback-first")
      expect(disk.main.exhaustedUntil).toBe(9)
      expect(disk.quota.main.observedAt).toBe(20)
      expect(disk.quota["acct_a/user_a"].observedAt).toBe(30)
    }),
  )
})

describe("Store.observe across processes", () => {
  test("4 processes observing the same accounts at once: newest reading and latest mark per account, no lost update", async () => {
    const path = freshPath()
    seed(path)
    const workers = 4
    const rounds = 40
    const children = Array.from({ length: workers }, (_, worker) =>
      Bun.spawn(
        [
          process.execPath,
          join(import.meta.dir, "workers", "observe.ts"),
          path,
          String(worker),
          String(workers),
          String(rounds),
        ],
        { stdout: "pipe", stderr: "pipe" },
      ),
    )
    const codes = await Promise.all(children.map((c) => c.exited))
    const stderr = await Promise.all(children.map((c) => new Response(c.stderr).text()))
    expect({ codes, stderr: stderr.filter((s) => s.length > 0) }).toEqual({ codes: codes.map(() => 0), stderr: [] })
    const updates = (await Promise.all(children.map((c) => new Response(c.stdout).text()))).reduce(
      (sum, out) => sum + (JSON.parse(out) as { updates: number }).updates,
      0,
    )

    // what every worker observed, computed the same way the workers did
    const newest = new Map<string, number>()
    const latest = new Map<string, number>()
    for (let worker = 0; worker < workers; worker++)
      for (let round = 0; round < rounds; round++) {
        const at = round * workers + worker
        const q = KEYS[round % 3] as string
        newest.set(q, Math.max(newest.get(q) ?? 0, at))
        const m = KEYS[(round + worker) % 3] as string
        latest.set(m, Math.max(latest.get(m) ?? 0, MARK_BASE + at))
      }
    const disk = onDisk(path)
    expect(disk.counter).toBe(updates)
    for (const key of KEYS) {
      const at = newest.get(key) as number
      expect({ key, at: disk.quota[key]?.observedAt, five: disk.quota[key]?.fiveHour?.usedPercent }).toEqual({
        key,
        at,
        five: at % 101,
      })
    }
    expect(disk.main.exhaustedUntil).toBe(latest.get("main"))
    expect(disk.accounts.map((a: { exhaustedUntil?: number }) => a.exhaustedUntil)).toEqual([
      latest.get("acct_a/user_a"),
      latest.get("acct_b/user_b"),
    ])
  }, 60_000)
})
