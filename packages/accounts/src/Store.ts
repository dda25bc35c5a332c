/**
 * `openai-auth.json`, shared by every OpenCode process, the TUI and the CLI. Reads are cached by
 * (mtime, size, inode): one stat per call, a re-read only when another process changed the file. Every
 * change is a read-modify-write under the cross-process lock, re-reading the file inside the lock, never
 * from the cache. A file that does not parse is reported and never overwritten: the user's settings and
 * tokens stay on disk for them to fix, and the plugin keeps serving the main account meanwhile.
 *
 * A write is fenced: a process paused inside the lock past its stale limit (SIGSTOP, a laptop lid, a
 * debugger) has its lock broken by the others, and when it wakes up its write renames only if the lock file
 * still names it and the file still holds exactly what it read; otherwise nothing is written and `modify` runs
 * its function again on the document as it is now (`modifyOnce` reports it instead, for a function that must
 * not run twice). So a document read before a pause never lands over writes made during it.
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
import { applyObservations, type Observations, Pending } from "./StorePending.ts"
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

/**
 * The lock was broken while this process held it (it was paused past the stale limit) and the store changed
 * meanwhile, again on every retry: nothing was written.
 */
export class StoreFenced extends Schema.TaggedError<StoreFenced>()("StoreFenced", {
  path: Schema.String,
  message: Schema.String,
}) {}

export type StoreError = StoreCorrupt | StoreInvalidUpdate | StoreFenced | LockTimeout | FileError

/** What an update function returns: its result, and the document to write (the same one: nothing to write). */
export type Modification<A> = readonly [result: A, next: StoreDocument]

/** The lock as an update function sees it: whether it is still ours (a refresh asks before it spends a token). */
export interface HeldLock {
  readonly stillHeld: Effect.Effect<boolean>
}

export type Modify<A, E> = (doc: StoreDocument, lock: HeldLock) => Modification<A> | Effect.Effect<Modification<A>, E>

/** One run of an update function: its result, and whether the write was fenced (then nothing was written). */
export interface Attempt<A> {
  readonly result: A
  readonly fenced: boolean
}

/** how often `modify` runs a fenced function again before it gives up with `StoreFenced` */
export const FENCED_RUNS = 3

export interface StoreShape {
  readonly path: string
  /**
   * the current document (the default one when the file does not exist yet), with this process's observations
   * that are not on disk yet merged in
   */
  readonly read: Effect.Effect<StoreDocument, StoreCorrupt | FileError>
  /**
   * Lock, re-read, apply `f`, validate, write atomically (fenced), unlock; returns `f`'s result. When the write
   * was fenced, `f` runs again on the document as it is now: it must be safe to repeat.
   */
  readonly modify: <A, E = never>(f: Modify<A, E>) => Effect.Effect<A, StoreError | E>
  /** `modify` whose function runs once: a fenced write is reported (`fenced`), not retried */
  readonly modifyOnce: <A, E = never>(f: Modify<A, E>) => Effect.Effect<Attempt<A>, StoreError | E>
  /** `modify` for a function that returns only the next document; returns the document as written */
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

const notAFile = (path: string, stat: FileStat) =>
  corrupt(
    path,
    `it is not a regular file but ${stat.kind === "directory" ? "a directory" : "a FIFO, socket or device"}`,
  )

/** a file error on the store, said in words (the platform's message names the syscall, not what to do) */
const unreadable = (path: string) => (error: FileError) =>
  error.code === "EACCES" || error.code === "EPERM"
    ? corrupt(path, "permission denied (the file's mode or owner does not let this user read it)")
    : error.code === "EISDIR"
      ? corrupt(path, "it is a directory")
      : error

export const serialize = (json: unknown): string => `${JSON.stringify(json, null, 2)}\n`

export const makeAt = (path: string, options?: StoreOptions) =>
  Effect.gen(function* () {
    const files = yield* Files
    const lock = yield* FileLock
    const lockPath = `${path}.lock`
    let cached: { readonly stat: FileStat; readonly doc: Result.Result<StoreDocument, StoreCorrupt> } | undefined
    // one default document while the file does not exist: readers compare documents by identity to skip work
    const empty = emptyDocument()
    // a file another tool left group- or world-readable is brought back to 0600 once, when first seen
    let modeChecked = false

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

    /** the file's stat, refused when it is not a regular file (a FIFO would block the read forever) */
    const statFile = Effect.gen(function* () {
      const stat = yield* files.stat(path)
      if (Option.isNone(stat)) return undefined
      if (stat.value.kind !== "file") return yield* notAFile(path, stat.value)
      if (!modeChecked) {
        modeChecked = true
        if ((stat.value.mode & 0o077) !== 0) yield* Effect.ignore(files.chmod(path, 0o600))
      }
      return stat.value
    })

    /** straight from disk; the stat is taken first so a change racing the read only causes a re-read */
    const load = Effect.fnUntraced(function* () {
      const stat = yield* statFile
      if (stat === undefined) return { stat: undefined, doc: Result.succeed(emptyDocument()), text: undefined }
      const text = yield* files.readText(path).pipe(Effect.mapError(unreadable(path)))
      if (Option.isNone(text)) return { stat: undefined, doc: Result.succeed(emptyDocument()), text: undefined }
      return { stat, doc: yield* parse(text.value), text: text.value }
    })

    const disk = Effect.gen(function* () {
      const stat = yield* statFile
      if (stat === undefined) {
        cached = undefined
        return empty
      }
      if (cached === undefined || !sameStat(cached.stat, stat)) {
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

    /** one locked read-modify-write; `doc` is the document as a reader now decodes it */
    const attempt = <A, E>(f: Modify<A, E>) =>
      Effect.gen(function* () {
        const outcome = yield* lock.withLock(
          lockPath,
          (handle) =>
            Effect.gen(function* () {
              const loaded = yield* load()
              const current = yield* Effect.fromResult(loaded.doc)
              const applied = f(current, { stillHeld: handle.stillHeld })
              const [result, next] = Effect.isEffect(applied) ? yield* applied : applied
              const encoded = encodeDocument(next)
              if (Result.isFailure(encoded)) {
                return yield* new StoreInvalidUpdate({
                  path,
                  reason: encoded.failure,
                  message: `refused to write ${path}: ${encoded.failure}`,
                })
              }
              const text = serialize(encoded.success)
              if (text === loaded.text) return { result, fenced: false, doc: current }
              // written only if the lock is still ours and nobody changed the file since `load`
              const written = yield* files.writeAtomicIf(path, text, [
                { path: lockPath, text: handle.ownerText },
                { path, text: loaded.text },
              ])
              if (!written) return { result, fenced: true, doc: current }
              // taken under the lock, so it is the stat of what we wrote
              const stat = yield* files.stat(path)
              return { result, fenced: false, doc: current, written: { text, stat } }
            }),
          options?.lock,
        )
        if (outcome.written === undefined) return outcome
        // decoded after the release, so the next writer does not wait for it; the stat taken under the lock
        // ties it to the file we wrote, whatever has been written since (a reader with another stat reads again);
        // decoded, not `next`: the doc as a reader will decode it (defaults filled, extras split)
        const decoded = yield* parse(outcome.written.text)
        const stat = outcome.written.stat
        cached = Option.isSome(stat) ? { stat: stat.value, doc: decoded } : undefined
        return { result: outcome.result, fenced: false, doc: yield* Effect.fromResult(decoded) }
      })

    const fencedError = new StoreFenced({
      path,
      message: `could not write ${path}: the lock was broken ${FENCED_RUNS} times while this process held it (it was paused or starved)`,
    })

    const run = <A, E>(f: Modify<A, E>) =>
      Effect.gen(function* () {
        for (let i = 0; i < FENCED_RUNS; i++) {
          const outcome = yield* attempt(f)
          if (!outcome.fenced) return outcome
        }
        return yield* fencedError
      })

    const modify = <A, E = never>(f: Modify<A, E>): Effect.Effect<A, StoreError | E> =>
      run(f).pipe(
        Effect.map((outcome) => outcome.result),
        Effect.withSpan("Store.modify"),
      )

    const modifyOnce = <A, E = never>(f: Modify<A, E>): Effect.Effect<Attempt<A>, StoreError | E> =>
      attempt(f).pipe(
        Effect.map(({ result, fenced }) => ({ result, fenced })),
        Effect.withSpan("Store.modifyOnce"),
      )

    const update = <E = never>(
      f: (doc: StoreDocument) => StoreDocument | Effect.Effect<StoreDocument, E>,
    ): Effect.Effect<StoreDocument, StoreError | E> =>
      run((doc): Effect.Effect<Modification<undefined>, E> => {
        const applied = f(doc)
        return Effect.isEffect(applied)
          ? Effect.map(applied, (next) => [undefined, next] as const)
          : Effect.succeed([undefined, applied] as const)
      }).pipe(
        Effect.map((outcome) => outcome.doc),
        Effect.withSpan("Store.update"),
      )

    const writePending = Effect.suspend(() => {
      if (pending.empty) return Effect.void
      return modify((doc) => {
        // taken under the lock: everything observed while this write waited for it rides along
        const taken = pending.take()
        return [taken, applyObservations(doc, taken)] as const
      }).pipe(Effect.map((taken) => pending.settle(taken)))
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

    return Store.of({ path, read, modify, modifyOnce, update, observe, flush: writer.flush })
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
