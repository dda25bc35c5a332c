/**
 * `openai-auth.json`, shared by every OpenCode process, the TUI and the CLI. Reads are cached by
 * (mtime, size, inode): one stat per call, a re-read only when another process changed the file. Every
 * change is a read-modify-write under the cross-process lock, re-reading the file inside the lock, never
 * from the cache. A file that does not parse is reported and never overwritten: the user's settings and
 * tokens stay on disk for them to fix, and the plugin keeps serving the main account meanwhile.
 *
 * Quota readings and usage-limit marks do not wait for the lock: `observe` records them in memory (`read`
 * shows them at once, so this process routes on them) and a background writer merges them into the file
 * (StorePending.ts): one write at a time, started at once, taking everything observed up to the moment it
 * holds the lock; what comes later rides the next write. A request never waits for that write; it is
 * flushed when the layer's scope closes.
 */
import type { FileError } from "@cortexkit/openai-auth-core/Files"
import { type FileStat, Files } from "@cortexkit/openai-auth-core/Files"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import { Clock, Context, Effect, Layer, Option, Result, Schema } from "effect"
import { FileLock, type LockOptions, type LockTimeout } from "./FileLock.ts"
import { applyObservations, type Observations, Pending, type PendingSnapshot } from "./StorePending.ts"
import { decodeDocument, emptyDocument, encodeDocument, type StoreDocument } from "./StoreSchema.ts"
import { makeThrottledWriter } from "./ThrottledWriter.ts"

/** The file exists but is not a document this build can read (bad JSON, wrong shape, newer version). */
export class StoreCorrupt extends Schema.TaggedError<StoreCorrupt>()("StoreCorrupt", {
  path: Schema.String,
  reason: Schema.String,
  message: Schema.String,
}) {}

/** An update produced a document that does not encode: a bug in the caller; nothing was written. */
export class StoreInvalidUpdate extends Schema.TaggedError<StoreInvalidUpdate>()("StoreInvalidUpdate", {
  path: Schema.String,
  reason: Schema.String,
  message: Schema.String,
}) {}

export type StoreError = StoreCorrupt | StoreInvalidUpdate | LockTimeout | FileError

export interface StoreShape {
  readonly path: string
  /**
   * the current document (the default one when the file does not exist yet), with this process's observations
   * that are not on disk yet merged in
   */
  readonly read: Effect.Effect<StoreDocument, StoreCorrupt | FileError>
  /** lock, re-read, apply `f`, validate, write atomically, unlock; returns the document written */
  readonly update: <E = never>(
    f: (doc: StoreDocument) => StoreDocument | Effect.Effect<StoreDocument, E>,
  ) => Effect.Effect<StoreDocument, StoreError | E>
  /** quota readings and usage-limit marks, written behind: returns at once, never waits for the lock */
  readonly observe: (observations: Observations) => Effect.Effect<void>
  /** writes what was observed so far and waits for it (a failed write stays pending and is retried) */
  readonly flush: Effect.Effect<void>
}

export interface StoreOptions {
  readonly lock?: LockOptions
  /** after a failed background write (lock timeout, corrupt file), the next attempt waits this long (2 s) */
  readonly retryMs?: number
}

export const DEFAULT_RETRY_MS = 2_000

const sameStat = (a: FileStat, b: FileStat) => a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino

const corrupt = (path: string, reason: string) =>
  new StoreCorrupt({ path, reason, message: `the account store ${path} cannot be read: ${reason}` })

export const serialize = (json: unknown): string => `${JSON.stringify(json, null, 2)}\n`

export const makeAt = (path: string, options?: StoreOptions) =>
  Effect.gen(function* () {
    const files = yield* Files
    const lock = yield* FileLock
    const lockPath = `${path}.lock`
    let cached: { readonly stat: FileStat; readonly doc: Result.Result<StoreDocument, StoreCorrupt> } | undefined
    // one default document while the file does not exist: readers compare documents by identity to skip work
    const empty = emptyDocument()

    const parse = Effect.fnUntraced(function* (text: string) {
      if (text.trim() === "") return Result.succeed(emptyDocument())
      const now = yield* Clock.currentTimeMillis
      let json: unknown
      try {
        json = JSON.parse(text)
      } catch (error) {
        return Result.fail(corrupt(path, `invalid JSON: ${error instanceof Error ? error.message : String(error)}`))
      }
      return Result.mapError(decodeDocument(json, now), (reason) => corrupt(path, reason))
    })

    /** straight from disk; the stat is taken first so a change racing the read only causes a re-read */
    const load = Effect.fnUntraced(function* () {
      const stat = yield* files.stat(path)
      if (Option.isNone(stat)) return { stat: undefined, doc: Result.succeed(emptyDocument()), text: undefined }
      const text = yield* files.readText(path)
      if (Option.isNone(text)) return { stat: undefined, doc: Result.succeed(emptyDocument()), text: undefined }
      return { stat: stat.value, doc: yield* parse(text.value), text: text.value }
    })

    const disk = Effect.gen(function* () {
      const stat = yield* files.stat(path)
      if (Option.isNone(stat)) {
        cached = undefined
        return empty
      }
      if (cached === undefined || !sameStat(cached.stat, stat.value)) {
        const loaded = yield* load()
        cached = loaded.stat === undefined ? undefined : { stat: loaded.stat, doc: loaded.doc }
        return yield* Effect.fromResult(loaded.doc)
      }
      return yield* Effect.fromResult(cached.doc)
    })

    const pending = new Pending()
    // one merged document per (file content, pending version): readers compare documents by identity
    let overlaid: { readonly base: StoreDocument; readonly version: number; readonly doc: StoreDocument } | undefined
    const withPending = (doc: StoreDocument): StoreDocument => {
      if (pending.empty) return doc
      if (overlaid?.base === doc && overlaid.version === pending.version) return overlaid.doc
      overlaid = { base: doc, version: pending.version, doc: applyObservations(doc, pending) }
      return overlaid.doc
    }
    // untraced: it runs on every request (settings, routing, keep-warm), where a span costs more than the read
    const read = Effect.map(disk, withPending)

    const update = <E = never>(
      f: (doc: StoreDocument) => StoreDocument | Effect.Effect<StoreDocument, E>,
    ): Effect.Effect<StoreDocument, StoreError | E> =>
      lock
        .withLock(
          lockPath,
          () =>
            Effect.gen(function* () {
              const loaded = yield* load()
              const current = yield* Effect.fromResult(loaded.doc)
              const applied = f(current)
              const next = Effect.isEffect(applied) ? yield* applied : applied
              const encoded = encodeDocument(next)
              if (Result.isFailure(encoded)) {
                return yield* new StoreInvalidUpdate({
                  path,
                  reason: encoded.failure,
                  message: `refused to write ${path}: ${encoded.failure}`,
                })
              }
              const text = serialize(encoded.success)
              if (text === loaded.text) return current
              yield* files.writeAtomic(path, text)
              const stat = yield* files.stat(path)
              // the doc as a reader will decode it (defaults filled, extras split)
              const written = yield* parse(text)
              cached = Option.isSome(stat) ? { stat: stat.value, doc: written } : undefined
              return yield* Effect.fromResult(written)
            }),
          options?.lock,
        )
        .pipe(Effect.withSpan("Store.update"))

    const writePending = Effect.suspend(() => {
      if (pending.empty) return Effect.void
      let taken: PendingSnapshot | undefined
      return update((doc) => {
        // taken under the lock: everything observed while this write waited for it rides along
        taken = pending.take()
        return applyObservations(doc, taken)
      }).pipe(
        Effect.tap(() =>
          Effect.sync(() => {
            if (taken !== undefined) pending.settle(taken)
          }),
        ),
      )
    })
    // interval 0: a write starts as soon as the previous one is done, carrying everything observed meanwhile
    const writer = yield* makeThrottledWriter(writePending, {
      intervalMs: 0,
      retryMs: options?.retryMs ?? DEFAULT_RETRY_MS,
    })
    const observe = (observations: Observations) =>
      Effect.sync(() => {
        if (pending.add(observations)) writer.requestUnsafe()
      })

    return Store.of({ path, read, update, observe, flush: writer.flush })
  })

export class Store extends Context.Service<Store, StoreShape>()("@cortexkit/openai-auth-accounts/Store") {
  /** the store at an explicit path */
  static readonly layerAt = (path: string, options?: StoreOptions): Layer.Layer<Store, never, Files | FileLock> =>
    Layer.effect(Store, makeAt(path, options))

  /** the store at the settings' config file (`openai-auth.json`) */
  static readonly layer: Layer.Layer<Store, never, Files | FileLock | Settings> = Layer.effect(
    Store,
    Effect.gen(function* () {
      const settings = yield* Settings
      return yield* makeAt(settings.configFile)
    }),
  )
}
