/**
 * The last quota reading per account (`main` or a fallback's key), fed by every response (headers, WebSocket
 * frames), by usage polls and by usage-limit errors. Readings are merged window by window, the newer one
 * winning (`mergeQuota`), so an out-of-order older reading never hides a newer percentage.
 *
 * The map lives in memory for routing and is persisted into the store's `quota` field for the TUI, the CLI
 * and other processes: at most once per interval per process, except that an account becoming exhausted is
 * written at once (another process should stop routing to it now, not in five seconds). Pending readings
 * are flushed when the layer's scope closes.
 */
import { exhaustedUntil, mergeQuota, type QuotaSnapshot } from "@cortexkit/openai-auth-core/Quota"
import { Clock, Context, Effect, Exit, Layer, Option } from "effect"
import { DEFAULT_THROTTLE_MS, makeThrottledWriter } from "./StateFile.ts"
import { Store } from "./Store.ts"

export interface QuotaCacheShape {
  readonly push: (key: string, snapshot: QuotaSnapshot) => Effect.Effect<void>
  /** `push` called from plain code (a transport's event listener): no fiber unless a write must be started */
  readonly offer: (key: string, snapshot: QuotaSnapshot) => void
  readonly get: (key: string) => Effect.Effect<Option.Option<QuotaSnapshot>>
  readonly all: Effect.Effect<ReadonlyMap<string, QuotaSnapshot>>
  /** write pending readings now */
  readonly flush: Effect.Effect<void>
  /** wait for scheduled writes (tests) */
  readonly idle: Effect.Effect<void>
}

export interface QuotaCacheOptions {
  /** minimum time between two store writes of this process (default 5 s) */
  readonly throttleMs?: number
}

/** Spent now: the server said so, or a main window is at 100 % and has not reset yet. */
export const isExhausted = (snapshot: QuotaSnapshot, now: number): boolean =>
  snapshot.limitReached === true || (exhaustedUntil(snapshot) ?? 0) > now

export const make = Effect.fnUntraced(function* (options?: QuotaCacheOptions) {
  const store = yield* Store
  const readings = new Map<string, QuotaSnapshot>()
  const dirty = new Set<string>()
  // seeded from the store so routing knows about exhausted accounts right after a restart
  const seeded = yield* store.read.pipe(Effect.option)
  if (Option.isSome(seeded))
    for (const [key, snapshot] of Object.entries(seeded.value.quota)) readings.set(key, snapshot)

  const write = Effect.suspend(() => {
    if (dirty.size === 0) return Effect.void
    const keys = [...dirty]
    dirty.clear()
    return store
      .update((doc) => {
        const quota: Record<string, QuotaSnapshot> = { ...doc.quota }
        for (const key of keys) {
          const mine = readings.get(key)
          // another process may hold a newer reading for the same account
          if (mine !== undefined) quota[key] = mergeQuota(doc.quota[key], mine)
        }
        return { ...doc, quota }
      })
      .pipe(
        Effect.onExit((exit) =>
          Exit.isSuccess(exit)
            ? Effect.void
            : Effect.sync(() => {
                // retried with the next write; the readings themselves are still in memory
                for (const key of keys) dirty.add(key)
              }),
        ),
        Effect.ignore,
      )
  })
  const writer = yield* makeThrottledWriter(write, options?.throttleMs ?? DEFAULT_THROTTLE_MS)

  /** records the reading; true when the account just became exhausted (written at once) */
  const remember = (key: string, snapshot: QuotaSnapshot, now: number): boolean => {
    const previous = readings.get(key)
    const merged = mergeQuota(previous, snapshot)
    readings.set(key, merged)
    dirty.add(key)
    return isExhausted(merged, now) && (previous === undefined || !isExhausted(previous, now))
  }

  const push = Effect.fnUntraced(function* (key: string, snapshot: QuotaSnapshot) {
    const now = yield* Clock.currentTimeMillis
    yield* remember(key, snapshot, now) ? writer.urgent : writer.request
  })

  const clock = yield* Effect.clockWith(Effect.succeed)
  const runFork = Effect.runForkWith(yield* Effect.context<never>())
  const offer = (key: string, snapshot: QuotaSnapshot): void => {
    if (remember(key, snapshot, clock.currentTimeMillisUnsafe())) runFork(writer.urgent)
    else if (writer.requestUnsafe()) runFork(writer.request)
  }

  return QuotaCache.of({
    push,
    offer,
    get: (key) => Effect.sync(() => Option.fromUndefinedOr(readings.get(key))),
    all: Effect.sync(() => new Map(readings)),
    flush: writer.flush,
    idle: writer.idle,
  })
})

export class QuotaCache extends Context.Service<QuotaCache, QuotaCacheShape>()(
  "@cortexkit/openai-auth-accounts/QuotaCache",
) {
  static readonly layerWith = (options?: QuotaCacheOptions): Layer.Layer<QuotaCache, never, Store> =>
    Layer.effect(QuotaCache, make(options))
  static readonly layer: Layer.Layer<QuotaCache, never, Store> = QuotaCache.layerWith()
}
