/**
 * The last quota reading per account (`main` or a fallback's key), fed by every response (headers, WebSocket
 * frames), by usage polls and by usage-limit errors. Readings are combined by `mergeQuota`: the newer one (by
 * when it was taken) replaces the windows of every family it states, so a window the backend retired does not
 * linger, and an out-of-order older reading never hides a newer percentage.
 *
 * The map lives in memory for routing and is handed to the store (`Store.observe`, written behind, merged
 * the same way with what other processes wrote) for the TUI, the CLI and other processes: at most once per
 * interval per process, except that an account becoming exhausted is handed over at once (another process
 * should stop routing to it now, not in five seconds). No request ever waits for the store's lock here.
 * Pending readings are flushed when the layer's scope closes.
 */
import { exhaustedUntil, mergeQuota, type QuotaSnapshot } from "@cortexkit/openai-auth-core/Quota"
import { Clock, Context, Effect, Layer, Option } from "effect"
import { Store } from "./Store.ts"
import { DEFAULT_THROTTLE_MS, makeThrottledWriter } from "./ThrottledWriter.ts"

export interface QuotaCacheShape {
  readonly push: (key: string, snapshot: QuotaSnapshot) => Effect.Effect<void>
  /** `push` called from plain code (a transport's event listener): no fiber unless a hand-over must start */
  readonly offer: (key: string, snapshot: QuotaSnapshot) => void
  readonly get: (key: string) => Effect.Effect<Option.Option<QuotaSnapshot>>
  readonly all: Effect.Effect<ReadonlyMap<string, QuotaSnapshot>>
  /** write pending readings now and wait for it */
  readonly flush: Effect.Effect<void>
  /** wait until the scheduled hand-over and the store's write behind it are done (tests) */
  readonly idle: Effect.Effect<void>
}

export interface QuotaCacheOptions {
  /** minimum time between two hand-overs to the store, so two store writes (default 5 s) */
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

  // the store keeps what it was handed until it is on disk (a failed write is retried there), so nothing is
  // put back here
  const handOver = Effect.suspend(() => {
    if (dirty.size === 0) return Effect.void
    const quota: Record<string, QuotaSnapshot> = {}
    for (const key of dirty) {
      const reading = readings.get(key)
      if (reading !== undefined) quota[key] = reading
    }
    dirty.clear()
    return store.observe({ quota })
  })
  const writer = yield* makeThrottledWriter(handOver, options?.throttleMs ?? DEFAULT_THROTTLE_MS)

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
  const offer = (key: string, snapshot: QuotaSnapshot): void => {
    if (remember(key, snapshot, clock.currentTimeMillisUnsafe())) writer.urgentUnsafe()
    else writer.requestUnsafe()
  }

  return QuotaCache.of({
    push,
    offer,
    get: (key) => Effect.sync(() => Option.fromUndefinedOr(readings.get(key))),
    all: Effect.sync(() => new Map(readings)),
    flush: Effect.andThen(writer.flush, store.flush),
    idle: Effect.andThen(writer.idle, store.flush),
  })
})

export class QuotaCache extends Context.Service<QuotaCache, QuotaCacheShape>()(
  "@cortexkit/openai-auth-accounts/QuotaCache",
) {
  static readonly layerWith = (options?: QuotaCacheOptions): Layer.Layer<QuotaCache, never, Store> =>
    Layer.effect(QuotaCache, make(options))
  static readonly layer: Layer.Layer<QuotaCache, never, Store> = QuotaCache.layerWith()
}
