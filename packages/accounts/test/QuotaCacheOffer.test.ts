/**
 * `QuotaCache.offer`, the fiber-free `push` a transport's listener calls on every response: the same readings
 * in memory, the same throttled writes, exhaustion written at once, and nothing lost when a reading arrives
 * while the writer is already scheduled.
 */
import { afterAll, describe, expect } from "bun:test"
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { QuotaSnapshot, QuotaWindow } from "@cortexkit/openai-auth-core/Quota"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Context, Effect, Exit, Layer, Option, Scope } from "effect"
import { TestClock } from "effect/testing"
import { FileLock } from "../src/FileLock.ts"
import { QuotaCache } from "../src/QuotaCache.ts"
import { Store } from "../src/Store.ts"

const root = mkdtempSync(join(tmpdir(), "oa-quota-offer-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshPath = () => join(root, `case-${++n}`, "openai-auth.json")
const quotaOnDisk = (path: string): Record<string, { fiveHour?: { usedPercent: number }; limitReached?: boolean }> =>
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

const openCache = (path: string) =>
  Effect.gen(function* () {
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(
      QuotaCache.layerWith({ throttleMs: 5_000 }).pipe(Layer.provideMerge(Store.layerAt(path))),
      scope,
    )
    return { cache: Context.get(context, QuotaCache), close: Scope.close(scope, Exit.void) }
  })

describe("QuotaCache.offer", () => {
  it.effect("writes the first reading at once, then at most once per interval, like push", () =>
    Effect.gen(function* () {
      const path = freshPath()
      const { cache, close } = yield* openCache(path)
      cache.offer("main", reading(0, 10))
      yield* cache.idle
      expect(quotaOnDisk(path).main?.fiveHour?.usedPercent).toBe(10)

      yield* TestClock.adjust(1_000)
      cache.offer("main", reading(1_000, 20))
      cache.offer("acct_a", reading(1_000, 30))
      yield* TestClock.adjust(3_000)
      expect(quotaOnDisk(path).main?.fiveHour?.usedPercent).toBe(10)
      expect(Option.getOrThrow(yield* cache.get("main")).fiveHour?.usedPercent).toBe(20)

      yield* TestClock.adjust(1_000)
      yield* cache.idle
      expect(quotaOnDisk(path).main?.fiveHour?.usedPercent).toBe(20)
      expect(quotaOnDisk(path).acct_a?.fiveHour?.usedPercent).toBe(30)
      yield* close
    }),
  )

  it.effect("an account becoming exhausted is written without waiting for the interval", () =>
    Effect.gen(function* () {
      const path = freshPath()
      const { cache, close } = yield* openCache(path)
      cache.offer("main", reading(0, 50))
      yield* cache.idle
      yield* TestClock.adjust(100)
      cache.offer("main", reading(100, 60))
      cache.offer("main", reading(100, 100, { limitReached: true }))
      yield* cache.idle
      expect(quotaOnDisk(path).main?.fiveHour?.usedPercent).toBe(100)
      expect(quotaOnDisk(path).main?.limitReached).toBe(true)
      yield* close
    }),
  )

  it.effect("many readings while the writer waits end in one write holding the newest", () =>
    Effect.gen(function* () {
      const path = freshPath()
      const { cache, close } = yield* openCache(path)
      cache.offer("main", reading(0, 1))
      yield* cache.idle
      for (let i = 1; i <= 50; i++) cache.offer("main", reading(i, 1 + i))
      expect(quotaOnDisk(path).main?.fiveHour?.usedPercent).toBe(1)
      yield* TestClock.adjust(5_000)
      yield* cache.idle
      expect(quotaOnDisk(path).main?.fiveHour?.usedPercent).toBe(51)
      yield* close
    }),
  )
})
