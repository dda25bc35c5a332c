import { afterAll, describe, expect } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Layer, Redacted } from "effect"
import { FileLock } from "../src/FileLock.ts"
import { Store } from "../src/Store.ts"
import { type Account, removeAccount, upsertAccount } from "../src/StoreSchema.ts"

const root = mkdtempSync(join(tmpdir(), "oa-store-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshPath = () => join(root, `case-${++n}`, "openai-auth.json")
const onDisk = (path: string) => JSON.parse(readFileSync(path, "utf8"))
const modeOf = (path: string) => statSync(path).mode & 0o777

const it = testEffect(Layer.mergeAll(FileLock.layer, Files.layer).pipe(Layer.provideMerge(Files.layer)))

const withStore = <A, E>(path: string, body: (store: Store["Service"]) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const store = yield* Store
    return yield* body(store)
  }).pipe(Effect.provide(Layer.fresh(Store.layerAt(path, { lock: { timeoutMs: 2_000 } }))))

const account = (id: string, extra: Partial<Account> = {}): Account => ({
  id,
  access: Redacted.make(`access-${id}`),
  refresh: Redacted.make(`refresh-${id}`),
  expiresAt: 1_000,
  addedAt: 1,
  state: "active",
  ...extra,
})

const settings = {
  webSearch: false,
  webSockets: "yes",
  dumpDir: "/tmp/dumps",
  codexApiEndpoint: "http://127.0.0.1:1/backend-api/codex/responses",
  logLevel: "debug",
}

describe("Store", () => {
  it.live("a missing file reads as the default document and is only created by the first write", () =>
    withStore(freshPath(), (store) =>
      Effect.gen(function* () {
        const doc = yield* store.read
        expect(doc.accounts).toEqual([])
        expect(doc.routing).toBe("main-first")
        expect(existsSync(store.path)).toBe(false)
        yield* store.update((d) => ({ ...d, routing: "fallback-first" }))
        expect(onDisk(store.path).routing).toBe("fallback-first")
        expect(onDisk(store.path).version).toBe(1)
        expect(modeOf(store.path)).toBe(0o600)
        expect(modeOf(join(store.path, ".."))).toBe(0o700)
        expect(readdirSync(join(store.path, ".."))).toEqual(["openai-auth.json"])
      }),
    ),
  )

  it.live("a settings-only file keeps its settings through add, route, switch and remove", () => {
    const path = freshPath()
    mkdirSync(join(path, ".."), { recursive: true })
    writeFileSync(path, JSON.stringify(settings))
    return withStore(path, (store) =>
      Effect.gen(function* () {
        yield* store.update((d) => upsertAccount(d, account("acct_a")))
        yield* store.update((d) => ({ ...d, routing: "fallback-first", activeAccount: "acct_a" }))
        yield* store.update((d) => removeAccount(d, "acct_a"))
        const disk = onDisk(path)
        for (const [key, value] of Object.entries(settings)) expect(disk[key]).toEqual(value)
        expect(disk.accounts).toEqual([])
        expect(disk.routing).toBe("fallback-first")
        expect(modeOf(path)).toBe(0o600)
      }),
    )
  })

  it.live("unknown keys survive every write, at the top level and inside accounts", () => {
    const path = freshPath()
    mkdirSync(join(path, ".."), { recursive: true })
    const stored = {
      version: 1,
      futureFeature: { nested: [1, 2, { deep: true }] },
      accounts: [
        { id: "acct_a", access: "a1", refresh: "r1", expiresAt: 5, addedAt: 1, state: "active", team: "blue" },
        { id: "acct_b", access: "a2", refresh: "r2", expiresAt: 5, addedAt: 2, nickname: { x: 1 } },
      ],
    }
    writeFileSync(path, JSON.stringify(stored))
    return withStore(path, (store) =>
      Effect.gen(function* () {
        yield* store.update((d) => upsertAccount(d, account("acct_a", { label: "work" })))
        yield* store.update((d) => ({
          ...d,
          killswitch: { enabled: true, thresholds: { main: { fiveHour: 10, weekly: 5 } } },
        }))
        const disk = onDisk(path)
        expect(disk.futureFeature).toEqual(stored.futureFeature)
        expect(disk.accounts[0].team).toBe("blue")
        expect(disk.accounts[0].label).toBe("work")
        expect(disk.accounts[0].access).toBe("access-acct_a")
        expect(disk.accounts[1].nickname).toEqual({ x: 1 })
        expect(disk.killswitch.thresholds.main).toEqual({ fiveHour: 10, weekly: 5 })
      }),
    )
  })

  it.live("tokens are Redacted in memory and plain strings on disk", () =>
    withStore(freshPath(), (store) =>
      Effect.gen(function* () {
        yield* store.update((d) => upsertAccount(d, account("acct_t", { idToken: Redacted.make("id-tok") })))
        const doc = yield* store.read
        const stored = doc.accounts[0] as Account
        expect(Redacted.isRedacted(stored.access)).toBe(true)
        expect(String(stored.access)).not.toContain("access-acct_t")
        expect(Redacted.value(stored.refresh)).toBe("refresh-acct_t")
        expect(onDisk(store.path).accounts[0].idToken).toBe("id-tok")
      }),
    ),
  )

  it.live("identity is (account id, user id): same identity updates in place, another user is another account", () =>
    withStore(freshPath(), (store) =>
      Effect.gen(function* () {
        yield* store.update((d) => upsertAccount(d, account("acct_x", { userId: "u1", label: "first" })))
        yield* store.update((d) => upsertAccount(d, account("acct_y", { userId: "u9" })))
        yield* store.update((d) =>
          upsertAccount(d, account("acct_x", { userId: "u1", addedAt: 99, access: Redacted.make("new") })),
        )
        yield* store.update((d) => upsertAccount(d, account("acct_x", { userId: "u2" })))
        const doc = yield* store.read
        expect(doc.accounts.map((a) => [a.id, a.userId])).toEqual([
          ["acct_x", "u1"],
          ["acct_y", "u9"],
          ["acct_x", "u2"],
        ])
        const first = doc.accounts[0] as Account
        expect(Redacted.value(first.access)).toBe("new")
        expect(first.addedAt).toBe(1)
        expect(first.label).toBe("first")
      }),
    ),
  )

  for (const [name, content] of [
    ["invalid JSON", '{"webSearch": false, "accounts": ['],
    ["a wrong shape", JSON.stringify({ version: 1, webSearch: false, accounts: [{ id: "" }] })],
    ["a newer version", JSON.stringify({ version: 7, webSearch: false, novel: true })],
  ] as const) {
    it.live(`a file with ${name} is reported as StoreCorrupt and never overwritten`, () => {
      const path = freshPath()
      mkdirSync(join(path, ".."), { recursive: true })
      writeFileSync(path, content, { mode: 0o600 })
      const before = readFileSync(path)
      return withStore(path, (store) =>
        Effect.gen(function* () {
          const readError = yield* Effect.flip(store.read)
          expect(readError._tag).toBe("StoreCorrupt")
          if (readError._tag === "StoreCorrupt") {
            expect(readError.path).toBe(path)
            expect(readError.reason.length).toBeGreaterThan(0)
            expect(readError.message).toContain(path)
          }
          let called = false
          const updateError = yield* Effect.flip(
            store.update((d) => {
              called = true
              return upsertAccount(d, account("acct_z"))
            }),
          )
          expect(updateError._tag).toBe("StoreCorrupt")
          expect(called).toBe(false)
          expect(readFileSync(path).equals(before)).toBe(true)
          // the lock was released despite the failure
          expect(readdirSync(join(path, ".."))).toEqual(["openai-auth.json"])
          // read keeps reporting it (from the cache: same stat)
          expect((yield* Effect.flip(store.read))._tag).toBe("StoreCorrupt")
        }),
      )
    })
  }

  it.live("an update producing an invalid document writes nothing", () => {
    const path = freshPath()
    mkdirSync(join(path, ".."), { recursive: true })
    writeFileSync(path, JSON.stringify(settings))
    const before = readFileSync(path)
    return withStore(path, (store) =>
      Effect.gen(function* () {
        const error = yield* Effect.flip(store.update((d) => ({ ...d, routing: "sideways" as "main-first" })))
        expect(error._tag).toBe("StoreInvalidUpdate")
        expect(readFileSync(path).equals(before)).toBe(true)
      }),
    )
  })

  it.live("read is cached until the file changes on disk; update always re-reads", () => {
    const path = freshPath()
    mkdirSync(join(path, ".."), { recursive: true })
    writeFileSync(path, JSON.stringify({ version: 1, counter: 1 }))
    return withStore(path, (store) =>
      Effect.gen(function* () {
        const a = yield* store.read
        const b = yield* store.read
        expect(b).toBe(a)
        // another process writes (a different inode via rename, like our own writer)
        writeFileSync(`${path}.other`, JSON.stringify({ version: 1, counter: 2 }))
        rmSync(path)
        writeFileSync(path, readFileSync(`${path}.other`))
        const c = yield* store.read
        expect(c.extra.counter).toBe(2)
        writeFileSync(path, JSON.stringify({ version: 1, counter: 30 }))
        const written = yield* store.update((d) => ({
          ...d,
          extra: { ...d.extra, counter: (d.extra.counter as number) + 1 },
        }))
        expect(written.extra.counter).toBe(31)
        expect(yield* store.read).toBe(written)
      }),
    )
  })

  it.live("a blank file counts as empty and may be written", () => {
    const path = freshPath()
    mkdirSync(join(path, ".."), { recursive: true })
    writeFileSync(path, "  \n")
    return withStore(path, (store) =>
      Effect.gen(function* () {
        expect((yield* store.read).accounts).toEqual([])
        yield* store.update((d) => ({ ...d, cacheKeep: { enabled: true, subagents: false } }))
        expect(onDisk(path).cacheKeep).toEqual({ enabled: true, subagents: false })
      }),
    )
  })

  it.live("concurrent updates from many fibers lose nothing", () =>
    withStore(freshPath(), (store) =>
      Effect.gen(function* () {
        yield* Effect.forEach(
          Array.from({ length: 30 }, (_, i) => i),
          () =>
            store.update((d) => ({
              ...d,
              extra: { ...d.extra, counter: (typeof d.extra.counter === "number" ? d.extra.counter : 0) + 1 },
            })),
          { concurrency: "unbounded" },
        )
        expect(onDisk(store.path).counter).toBe(30)
      }),
    ),
  )
})
