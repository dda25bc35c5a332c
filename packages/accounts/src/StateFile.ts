/**
 * `openai-auth-state.json` beside the store: what the server part knows that the TUI sidebar and the CLI
 * like to show (which account served last, keep-warm status). It is a status file, not a source of truth:
 * a missing or unreadable file is an empty state, writes are throttled and atomic (0600), and one writer
 * losing to another costs nothing but a slightly stale line in a sidebar.
 */
import { dirname, join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Clock, Context, Effect, Layer, Option, Schema } from "effect"
import { Store } from "./Store.ts"
import { DEFAULT_THROTTLE_MS, makeThrottledWriter } from "./ThrottledWriter.ts"

export const STATE_FILE_NAME = "openai-auth-state.json"

export const stateFilePath = (storePath: string): string => join(dirname(storePath), STATE_FILE_NAME)

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
