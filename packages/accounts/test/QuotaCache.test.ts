import { afterAll, describe, expect } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { QuotaSnapshot, QuotaWindow } from "@cortexkit/openai-auth-core/Quota"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Context, Effect, Exit, Layer, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import { FileLock } from "../src/FileLock.ts"
import { QuotaCache } from "../src/QuotaCache.ts"
import { parseState, StateFile } from "../src/StateFile.ts"
import { Store } from "../src/Store.ts"

const root = mkdtempSync(join(tmpdir(), "oa-quota-cache-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshPath = () => join(root, `case-${++n}`, "openai-auth.json")
const quotaOnDisk = (path: string): Record<string, { fiveHour?: { usedPercent: number } }> =>
  existsSync(path) ? JSON.parse(readFileSync(path, "utf8")).quota : {}

const it = testEffect(Layer.mergeAll(FileLock.layer, Files.layer).pipe(Layer.provideMerge(Files.layer)))

const HOUR = 3_600_000
const reading = (at: number, fiveHourUsed: number, extra: { limitReached?: boolean } = {}) =>
  QuotaSnapshot.make({
    observedAt: at,
    source: "headers",
    fiveHour: QuotaWindow.make({ usedPercent: fiveHourUsed, windowMinutes: 300, resetsAt: at + HOUR }),
    weekly: QuotaWindow.make({ usedPercent: 10, windowMinutes: 10080, resetsAt: at + 100 * HOUR }),
    otherWindows: [],
    additional: [],
    ...extra,
  })

/** a cache in its own scope, so a test can close it (and see the flush) */
const openCache = (path: string, throttleMs = 5_000) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      QuotaCache.layerWith({ throttleMs }).pipe(Layer.provideMerge(Store.layerAt(path))),
      scope,
    )
    const cache = Context.get(context, QuotaCache)
    return { cache, close: Scope.close(scope, Exit.void) }
  })

describe("QuotaCache", () => {
  it.effect("writes the first reading at once, then at most once per interval", () =>
    Effect.gen(function* () {
      const path = freshPath()
      const { cache, close } = yield* openCache(path)
      yield* cache.push("main", reading(0, 10))
      yield* cache.idle
      expect(quotaOnDisk(path).main?.fiveHour?.usedPercent).toBe(10)

      yield* TestClock.adjust(1_000)
      yield* cache.push("main", reading(1_000, 20))
      yield* cache.push("acct_a", reading(1_000, 30))
      yield* TestClock.adjust(3_000)
      expect(quotaOnDisk(path).main?.fiveHour?.usedPercent).toBe(10)
      expect(quotaOnDisk(path).acct_a).toBeUndefined()
      // in memory the new readings are there at once
      expect(Option.getOrThrow(yield* cache.get("main")).fiveHour?.usedPercent).toBe(20)

      yield* TestClock.adjust(1_000)
      yield* cache.idle
      expect(quotaOnDisk(path).main?.fiveHour?.usedPercent).toBe(20)
      expect(quotaOnDisk(path).acct_a?.fiveHour?.usedPercent).toBe(30)
      expect(statSync(path).mode & 0o777).toBe(0o600)
      yield* close
    }),
  )

  it.effect("an account becoming exhausted is written immediately", () =>
    Effect.gen(function* () {
      const path = freshPath()
      const { cache, close } = yield* openCache(path)
      yield* cache.push("main", reading(0, 50))
      yield* cache.idle
      yield* TestClock.adjust(100)
      yield* cache.push("main", reading(100, 60))
      yield* cache.push("main", reading(200, 100, { limitReached: true }))
      yield* cache.idle
      expect(quotaOnDisk(path).main?.fiveHour?.usedPercent).toBe(100)
      yield* close
    }),
  )

  it.effect("pending readings are flushed when the scope closes", () =>
    Effect.gen(function* () {
      const path = freshPath()
      const { cache, close } = yield* openCache(path)
      yield* cache.push("main", reading(0, 1))
      yield* cache.idle
      yield* cache.push("main", reading(10, 2))
      expect(quotaOnDisk(path).main?.fiveHour?.usedPercent).toBe(1)
      yield* close
      expect(quotaOnDisk(path).main?.fiveHour?.usedPercent).toBe(2)
    }),
  )

  it.effect("the newest reading wins, whatever order they arrive in", () =>
    Effect.gen(function* () {
      const path = freshPath()
      const { cache, close } = yield* openCache(path)
      yield* cache.push("main", reading(5_000, 40))
      yield* cache.push("main", reading(1_000, 5))
      expect(Option.getOrThrow(yield* cache.get("main")).fiveHour?.usedPercent).toBe(40)
      expect([...(yield* cache.all).keys()]).toEqual(["main"])
      yield* close
    }),
  )

  it.effect("starts from the readings already in the store, and keeps a newer one another process wrote", () =>
    Effect.gen(function* () {
      const path = freshPath()
      const first = yield* openCache(path)
      yield* first.cache.push("acct_b", reading(50, 70))
      yield* first.close
      const second = yield* openCache(path)
      expect(Option.getOrThrow(yield* second.cache.get("acct_b")).fiveHour?.usedPercent).toBe(70)
      // an older reading pushed here does not overwrite the newer one on disk
      yield* second.cache.push("acct_b", reading(10, 1))
      yield* second.close
      expect(quotaOnDisk(path).acct_b?.fiveHour?.usedPercent).toBe(70)
    }),
  )
})

describe("StateFile", () => {
  it.effect("throttled, atomic 0600 writes; a bad file reads as the empty state", () =>
    Effect.gen(function* () {
      const dir = join(root, `state-${++n}`)
      const path = join(dir, "openai-auth-state.json")
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(StateFile.layerAt(path, { throttleMs: 5_000 }), scope)
      const state = Context.get(context, StateFile)
      yield* state.update((s) => ({ ...s, lastServed: { key: "main", at: 1 } }))
      yield* state.idle
      expect(JSON.parse(readFileSync(path, "utf8")).lastServed).toEqual({ key: "main", at: 1 })
      expect(statSync(path).mode & 0o777).toBe(0o600)
      yield* state.update((s) => ({ ...s, keepWarm: { enabled: true, tracked: 2 } }))
      expect(JSON.parse(readFileSync(path, "utf8")).keepWarm).toBeUndefined()
      yield* Scope.close(scope, Exit.void)
      expect(JSON.parse(readFileSync(path, "utf8")).keepWarm).toEqual({ enabled: true, tracked: 2 })

      writeFileSync(path, "{ not json")
      expect(parseState(readFileSync(path, "utf8"))).toEqual({ updatedAt: 0 })
      expect(parseState(JSON.stringify({ lastServed: { key: 1 }, keepWarm: { enabled: false, tracked: 0 } }))).toEqual({
        updatedAt: 0,
        keepWarm: { enabled: false, tracked: 0 },
      })
    }),
  )
})
