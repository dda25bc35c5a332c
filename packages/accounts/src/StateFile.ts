/**
 * `openai-auth-state.json` beside the store: what the server part knows that the TUI sidebar and the CLI
 * like to show (which account served last, keep-warm status). It is a status file, not a source of truth:
 * a missing or unreadable file is an empty state, writes are throttled and atomic (0600), and one writer
 * losing to another costs nothing but a slightly stale line in a sidebar.
 *
 * It also holds the throttled writer the quota cache uses.
 */
import { dirname, join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Clock, Context, Effect, Fiber, Layer, Option, Schema, Scope, Semaphore } from "effect"
import { Store } from "./Store.ts"

export const STATE_FILE_NAME = "openai-auth-state.json"
export const DEFAULT_THROTTLE_MS = 5_000

export const stateFilePath = (storePath: string): string => join(dirname(storePath), STATE_FILE_NAME)

// ---- throttled writer -----------------------------------------------------------------------------------

export interface ThrottledWriter {
  /** something changed: write within the throttle interval (at most one write per interval) */
  readonly request: Effect.Effect<void>
  /**
   * `request` without running an effect when a write is already scheduled (the per-response path): marks the
   * change and returns true only when the caller must still run `request` to start the writer
   */
  readonly requestUnsafe: () => boolean
  /** something important changed: write now, without waiting for the interval */
  readonly urgent: Effect.Effect<void>
  /** write pending changes now and wait for it */
  readonly flush: Effect.Effect<void>
  /** wait until no write is scheduled or running (tests) */
  readonly idle: Effect.Effect<void>
}

/**
 * One background fiber at a time writes; while it sleeps out the interval, more changes just mark the state
 * dirty. An urgent change cuts the sleep short. On scope close pending changes are flushed, so a process that
 * exits cleanly loses nothing. `write` must not fail: it reports its own errors.
 */
export const makeThrottledWriter = Effect.fnUntraced(function* (write: Effect.Effect<void>, intervalMs: number) {
  const outer = yield* Effect.scope
  // the fibers live in a child scope, closed after the flush finalizer below has run
  const fibers = yield* Scope.fork(outer)
  const writing = Semaphore.makeUnsafe(1)
  let dirty = false
  let urgentFlag = false
  let lastWrite = Number.NEGATIVE_INFINITY
  let generation = 0
  let current: { readonly gen: number; fiber?: Fiber.Fiber<void> } | undefined

  let inWrite = false
  // set while a stop waits for a write in progress, so the loop ends after it instead of sleeping again
  let stopping = false
  const writeOnce = writing.withPermits(1)(
    Effect.gen(function* () {
      if (!dirty) return
      dirty = false
      urgentFlag = false
      lastWrite = yield* Clock.currentTimeMillis
      inWrite = true
      yield* write.pipe(Effect.ensuring(Effect.sync(() => (inWrite = false))))
    }),
  )

  const loop = Effect.gen(function* () {
    while (dirty && !stopping) {
      const wait = urgentFlag ? 0 : lastWrite + intervalMs - (yield* Clock.currentTimeMillis)
      if (wait > 0) yield* Effect.sleep(wait)
      yield* writeOnce
    }
  })

  const spawn = Effect.gen(function* () {
    stopping = false
    const gen = ++generation
    const slot: { readonly gen: number; fiber?: Fiber.Fiber<void> } = { gen }
    current = slot
    slot.fiber = yield* Effect.forkIn(
      loop.pipe(
        Effect.ensuring(
          Effect.sync(() => {
            if (current?.gen === gen) current = undefined
          }),
        ),
      ),
      fibers,
    )
  })

  /** ends the loop: cuts a sleep short, or waits for the write in progress */
  const stopLoop = Effect.gen(function* () {
    const running = current
    current = undefined
    if (running?.fiber === undefined) return
    stopping = true
    // a write in progress is waited for, never cut (the store's lock wait is interruptible)
    if (inWrite) yield* Fiber.await(running.fiber)
    else yield* Fiber.interrupt(running.fiber)
  })

  const request = Effect.suspend(() => {
    dirty = true
    return current === undefined ? spawn : Effect.void
  })

  const urgent = Effect.gen(function* () {
    dirty = true
    urgentFlag = true
    yield* stopLoop
    yield* spawn
  })

  const idle = Effect.gen(function* () {
    while (current?.fiber !== undefined) yield* Fiber.await(current.fiber)
  })

  const flush = Effect.gen(function* () {
    yield* stopLoop
    yield* writeOnce
  })

  yield* Effect.addFinalizer(() => flush)
  const requestUnsafe = () => {
    dirty = true
    return current === undefined
  }

  const writer: ThrottledWriter = { request, requestUnsafe, urgent, flush, idle }
  return writer
})

// ---- the state file ---------------------------------------------------------------------------------------

const LastServed = Schema.Struct({ key: Schema.String, at: Schema.Finite })
const LastWarm = Schema.Struct({
  at: Schema.Finite,
  cachedTokens: Schema.Finite,
  inputTokens: Schema.Finite,
  outputTokens: Schema.Finite,
})
const KeepWarm = Schema.Struct({
  enabled: Schema.Boolean,
  /** sessions currently tracked for keep-warm */
  tracked: Schema.Finite,
  lastWarm: Schema.optionalKey(LastWarm),
})

export const StateDocument = Schema.Struct({
  lastServed: Schema.optionalKey(LastServed),
  keepWarm: Schema.optionalKey(KeepWarm),
  /** epoch ms of the last change */
  updatedAt: Schema.Finite,
})
export type StateDocument = typeof StateDocument.Type

export const emptyState: StateDocument = { updatedAt: 0 }

const decodeLastServed = Schema.decodeUnknownOption(LastServed)
const decodeKeepWarm = Schema.decodeUnknownOption(KeepWarm)

/** Field by field, so one bad field never costs the others; anything unreadable is the empty state. */
export const parseState = (text: string | undefined): StateDocument => {
  if (text === undefined || text.trim() === "") return emptyState
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return emptyState
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return emptyState
  const raw = json as Record<string, unknown>
  const lastServed = decodeLastServed(raw.lastServed)
  const keepWarm = decodeKeepWarm(raw.keepWarm)
  return {
    updatedAt: typeof raw.updatedAt === "number" && Number.isFinite(raw.updatedAt) ? raw.updatedAt : 0,
    ...(Option.isSome(lastServed) ? { lastServed: lastServed.value } : {}),
    ...(Option.isSome(keepWarm) ? { keepWarm: keepWarm.value } : {}),
  }
}

export interface StateFileShape {
  readonly path: string
  /** straight from disk; never fails */
  readonly read: Effect.Effect<StateDocument>
  /** this process's view (seeded from disk when the service starts) */
  readonly current: Effect.Effect<StateDocument>
  /** applies `f` in memory and schedules a throttled write (`urgent`: write now) */
  readonly update: (
    f: (state: StateDocument) => StateDocument,
    options?: { readonly urgent?: boolean },
  ) => Effect.Effect<void>
  readonly flush: Effect.Effect<void>
  /** waits for scheduled writes (tests) */
  readonly idle: Effect.Effect<void>
}

export interface StateFileOptions {
  readonly throttleMs?: number
}

export const makeAt = Effect.fnUntraced(function* (path: string, options?: StateFileOptions) {
  const files = yield* Files
  const read = files.readText(path).pipe(
    Effect.map((text) => parseState(Option.getOrUndefined(text))),
    Effect.orElseSucceed(() => emptyState),
  )
  let state = yield* read
  const write = Effect.suspend(() =>
    files.writeAtomic(path, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 }),
  ).pipe(
    // a status file that cannot be written only makes a sidebar stale
    Effect.ignore,
  )
  const writer = yield* makeThrottledWriter(write, options?.throttleMs ?? DEFAULT_THROTTLE_MS)
  const update = Effect.fnUntraced(function* (
    f: (state: StateDocument) => StateDocument,
    updateOptions?: { readonly urgent?: boolean },
  ) {
    const now = yield* Clock.currentTimeMillis
    state = { ...f(state), updatedAt: now }
    yield* updateOptions?.urgent === true ? writer.urgent : writer.request
  })
  return StateFile.of({
    path,
    read,
    current: Effect.sync(() => state),
    update,
    flush: writer.flush,
    idle: writer.idle,
  })
})

export class StateFile extends Context.Service<StateFile, StateFileShape>()(
  "@cortexkit/openai-auth-accounts/StateFile",
) {
  static readonly layerAt = (path: string, options?: StateFileOptions): Layer.Layer<StateFile, never, Files> =>
    Layer.effect(StateFile, makeAt(path, options))

  /** beside the store's file */
  static readonly layer: Layer.Layer<StateFile, never, Files | Store> = Layer.effect(
    StateFile,
    Effect.gen(function* () {
      const store = yield* Store
      return yield* makeAt(stateFilePath(store.path))
    }),
  )
}
