/**
 * The project's only door to the disk. Everything goes through `effect/FileSystem` (NodeFileSystem, which
 * runs under Bun too) so that churn in the unstable platform modules stays in this file; the operations
 * (`FilesShape`) are described in internal/files-shape.ts. A watch that follows one name has its own watcher
 * (internal/files-watch.ts). Three steps go to `node:fs` directly, each for a
 * reason given where it is used (internal/files-native.ts): the per-request stat, the guarded rename of a
 * fenced write, and the liveness test that lets the next writer remove a dead writer's temp file. Other
 * packages build on these operations: add to them, do not change what they do.
 */

import { basename, dirname, join } from "node:path"
import { Context, Effect, FileSystem, Layer, Option, Stream } from "effect"
import { randomHex } from "./Digest.ts"
import { deadTemps, readText as readTextNative, renameIfNow, statNow } from "./internal/files-native.ts"
import {
  type Expectation,
  type FileError,
  type FileStat,
  type FilesShape,
  isAlreadyExists,
  isNotFound,
  kindOf,
  nativeError,
  notAFile,
  plainly,
  toFileError,
} from "./internal/files-shape.ts"
import { namesBackend } from "./internal/files-watch.ts"

export { deadTemps, pidAlive } from "./internal/files-native.ts"
export { type Expectation, FileError, type FileStat, type FilesShape } from "./internal/files-shape.ts"

const encoder = new TextEncoder()
const toBytes = (data: string | Uint8Array) => (typeof data === "string" ? encoder.encode(data) : data)

/** `<name>.<pid>.<random>.tmp` next to the target, so the rename never crosses a filesystem */
export const tempPathFor = (path: string): string =>
  join(dirname(path), `${basename(path)}.${process.pid}.${randomHex(6)}.tmp`)

/**
 * `stat` straight through `node:fs`: it runs several times per request (the store's change check), where a
 * synchronous stat costs microseconds and the platform `FileSystem` path (bigint stat, full info record,
 * callback, fiber resume) several times more. Same answers: None only for ENOENT, mtime truncated to ms.
 */
const nativeStat = (path: string): Effect.Effect<Option.Option<FileStat>, FileError> =>
  Effect.try({
    try: (): Option.Option<FileStat> => Option.fromUndefinedOr(statNow(path)),
    catch: nativeError(path, "stat"),
  })

/**
 * `readText` straight through `node:fs` (`Files.layer` only): the store and settings file are read on the first
 * request, and through the platform `FileSystem` that read would load it. Same answers as `make`'s `readText`.
 */
const nativeReadText = (path: string): Effect.Effect<Option.Option<string>, FileError> =>
  Effect.flatMap(nativeStat(path), (found) => {
    if (Option.isNone(found)) return Effect.succeed(Option.none<string>())
    if (found.value.kind !== "file") return Effect.fail(notAFile(path, "read", found.value.kind))
    return Effect.tryPromise({
      try: () => readTextNative(path),
      catch: (error) => plainly(nativeError(path, "read")(error)),
    }).pipe(Effect.map(Option.fromUndefinedOr))
  })

/** Set by `Files.layer` (the real disk); over any other `FileSystem` (tests injecting faults) stat goes through it. */
export const NativeStat = Context.Reference<boolean>("@cortexkit/openai-auth-core/Files/NativeStat", {
  defaultValue: () => false,
})

export const make = Effect.gen(function* () {
  const fs = yield* FileSystem.FileSystem
  const native = yield* NativeStat

  const makeDir = Effect.fn("Files.makeDir")(function* (path: string, options?: { readonly mode?: number }) {
    const mode = options?.mode ?? 0o700
    const existed = yield* fs.exists(path).pipe(Effect.mapError(toFileError(path, "makeDir")))
    if (existed) return
    yield* fs.makeDirectory(path, { recursive: true, mode }).pipe(
      Effect.catchIf(isAlreadyExists, () => Effect.void),
      Effect.mapError(toFileError(path, "makeDir")),
    )
    // the umask may have narrowed the mode; it must never have been widened, and we want exactly `mode`
    yield* fs.chmod(path, mode).pipe(Effect.mapError(toFileError(path, "makeDir")))
  })

  const platformStat = Effect.fnUntraced(function* (path: string) {
    return yield* fs.stat(path).pipe(
      Effect.map((info): Option.Option<FileStat> => {
        const size = Number(info.size)
        const mtimeMs = Option.match(info.mtime, { onNone: () => 0, onSome: (d) => d.getTime() })
        const kind = kindOf(info.type)
        const mode = info.mode & 0o777
        return Option.some(
          Option.isSome(info.ino)
            ? { size, mtimeMs, ino: Number(info.ino.value), kind, mode }
            : { size, mtimeMs, kind, mode },
        )
      }),
      Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<FileStat>())),
      Effect.mapError(toFileError(path, "stat")),
    )
  })

  const stat = native ? nativeStat : platformStat

  // a FIFO would block the read (and the process) until someone writes to it; a directory cannot be read
  const readText = Effect.fn("Files.readText")(function* (path: string) {
    const found = yield* stat(path)
    if (Option.isNone(found)) return Option.none<string>()
    if (found.value.kind !== "file") return yield* notAFile(path, "read", found.value.kind)
    return yield* fs.readFileString(path).pipe(
      Effect.map(Option.some),
      Effect.catchIf(isNotFound, () => Effect.succeed(Option.none<string>())),
      Effect.mapError((error) => plainly(toFileError(path, "read")(error))),
    )
  })

  const rename = Effect.fn("Files.rename")(function* (from: string, to: string) {
    yield* fs.rename(from, to).pipe(Effect.mapError(toFileError(from, "rename")))
  })

  const remove = Effect.fn("Files.remove")(function* (path: string) {
    yield* fs.remove(path).pipe(
      Effect.catchIf(isNotFound, () => Effect.void),
      Effect.mapError(toFileError(path, "remove")),
    )
  })

  const removeQuietly = (path: string) => Effect.ignore(fs.remove(path))

  /** writes a fresh file (must not exist), fsyncs it and sets its mode exactly */
  const writeFresh = (path: string, bytes: Uint8Array, mode: number, operation: string, durable: boolean) =>
    Effect.scoped(
      Effect.gen(function* () {
        const file = yield* fs.open(path, { flag: "wx", mode })
        yield* file.writeAll(bytes)
        if (durable) yield* file.sync
      }),
    ).pipe(Effect.andThen(fs.chmod(path, mode)), Effect.mapError(toFileError(path, operation)))

  // Not every platform lets a directory be opened and fsynced; the rename is already done, so best effort.
  const syncDir = (dir: string) =>
    Effect.ignore(
      Effect.scoped(
        Effect.gen(function* () {
          const handle = yield* fs.open(dir, { flag: "r" })
          yield* handle.sync
        }),
      ),
    )

  /** whether every expectation holds now, read through the platform (a test's `FileSystem` may fail here) */
  const holds = (expected: ReadonlyArray<Expectation>) =>
    Effect.forEach(expected, (e) =>
      fs.readFileString(e.path).pipe(
        Effect.map((text) => text === e.text),
        Effect.catchIf(isNotFound, () => Effect.succeed(e.text === undefined)),
      ),
    ).pipe(Effect.map((all) => all.every(Boolean)))

  // On the real disk the guard and the rename are one synchronous step: no fiber, timer or I/O callback of this
  // process runs between "the lock is still ours and the file is what we read" and the rename.
  const guardedRename = (temp: string, path: string, expected: ReadonlyArray<Expectation>) =>
    expected.length === 0
      ? fs.rename(temp, path).pipe(Effect.as(true), Effect.mapError(toFileError(path, "writeAtomic")))
      : native
        ? Effect.try({ try: () => renameIfNow(temp, path, expected), catch: nativeError(path, "writeAtomic") })
        : holds(expected).pipe(
            Effect.flatMap((ok) => (ok ? fs.rename(temp, path).pipe(Effect.as(true)) : Effect.succeed(false))),
            Effect.mapError(toFileError(path, "writeAtomic")),
          )

  /**
   * What a writer killed between its temp file and the rename left (it may hold tokens): the next writer
   * removes it. A guarded write (the store's, under its lock) looks every time; a plain one looks at its
   * first write of a file in this process (the memory of which is bounded), so a directory of many dumps is
   * not listed on every write.
   */
  const looked = new Set<string>()
  const removeDeadTemps = (path: string, always: boolean) => {
    if (!always && looked.has(path)) return Effect.void
    if (looked.size >= 256) looked.clear()
    looked.add(path)
    return fs.readDirectory(dirname(path)).pipe(
      Effect.flatMap((names) =>
        Effect.forEach(deadTemps(path, names), (name) => removeQuietly(join(dirname(path), name))),
      ),
      Effect.ignore,
    )
  }

  const replace = (path: string, data: string | Uint8Array, mode: number, expected: ReadonlyArray<Expectation>) =>
    Effect.gen(function* () {
      const dir = dirname(path)
      yield* makeDir(dir)
      // said about the target, never about the temp file a failed rename would name
      const target = yield* stat(path)
      if (Option.isSome(target) && target.value.kind !== "file") {
        return yield* notAFile(path, "writeAtomic", target.value.kind)
      }
      yield* removeDeadTemps(path, expected.length > 0)
      const temp = tempPathFor(path)
      const renamed = yield* writeFresh(temp, toBytes(data), mode, "writeAtomic", true).pipe(
        Effect.andThen(guardedRename(temp, path, expected)),
        // interruption included: a killed fiber must not leave its temp file behind
        Effect.onExit((exit) => (exit._tag === "Failure" || !exit.value ? removeQuietly(temp) : Effect.void)),
      )
      if (renamed) yield* syncDir(dir)
      return renamed
    })

  const writeAtomic = Effect.fn("Files.writeAtomic")(function* (
    path: string,
    data: string | Uint8Array,
    options?: { readonly mode?: number },
  ) {
    yield* replace(path, data, options?.mode ?? 0o600, [])
  })

  const writeAtomicIf = Effect.fn("Files.writeAtomicIf")(function* (
    path: string,
    data: string,
    expected: ReadonlyArray<Expectation>,
    options?: { readonly mode?: number },
  ) {
    return yield* replace(path, data, options?.mode ?? 0o600, expected)
  })

  const append = Effect.fn("Files.append")(function* (
    path: string,
    data: string,
    options?: { readonly mode?: number },
  ) {
    const mode = options?.mode ?? 0o600
    yield* makeDir(dirname(path))
    const existed = yield* fs.exists(path).pipe(Effect.mapError(toFileError(path, "append")))
    yield* fs.writeFileString(path, data, { flag: "a", mode }).pipe(Effect.mapError(toFileError(path, "append")))
    if (!existed) yield* fs.chmod(path, mode).pipe(Effect.mapError(toFileError(path, "append")))
  })

  const createExclusive = Effect.fn("Files.createExclusive")(function* (
    path: string,
    data: string,
    options?: { readonly mode?: number },
  ) {
    const mode = options?.mode ?? 0o600
    yield* makeDir(dirname(path))
    const temp = tempPathFor(path)
    // link(2) fails with EEXIST atomically, and the content is already complete when the name appears; no
    // fsync: an exclusive file (a lock) means nothing after a crash, and it sits on every store update's path
    return yield* writeFresh(temp, encoder.encode(data), mode, "createExclusive", false).pipe(
      Effect.andThen(
        fs.link(temp, path).pipe(
          Effect.as(true),
          Effect.catchIf(isAlreadyExists, () => Effect.succeed(false)),
          Effect.mapError(toFileError(path, "createExclusive")),
        ),
      ),
      Effect.ensuring(removeQuietly(temp)),
    )
  })

  const touch = Effect.fn("Files.touch")(function* (path: string, atMs: number) {
    yield* fs.utimes(path, new Date(atMs), new Date(atMs)).pipe(Effect.mapError(toFileError(path, "touch")))
  })

  const list = Effect.fn("Files.list")(function* (dir: string) {
    return yield* fs.readDirectory(dir).pipe(
      Effect.catchIf(isNotFound, () => Effect.succeed<ReadonlyArray<string>>([])),
      Effect.mapError(toFileError(dir, "list")),
    )
  })

  const createEmpty = Effect.fn("Files.createEmpty")(function* (path: string, options?: { readonly mode?: number }) {
    const mode = options?.mode ?? 0o600
    return yield* Effect.scoped(fs.open(path, { flag: "wx", mode })).pipe(
      Effect.as(true),
      Effect.catchIf(isAlreadyExists, () => Effect.succeed(false)),
      Effect.mapError(toFileError(path, "createEmpty")),
    )
  })

  const chmod = Effect.fn("Files.chmod")(function* (path: string, mode: number) {
    yield* fs.chmod(path, mode).pipe(Effect.mapError(toFileError(path, "chmod")))
  })

  const watchNames = (
    dir: string,
    onReady?: () => void,
    only?: (name: string) => boolean,
  ): Stream.Stream<string, FileError> => {
    const names = fs.watch(dir, onReady === undefined ? undefined : { onReady }).pipe(
      Stream.map((event) => basename(event.path)),
      Stream.mapError(toFileError(dir, "watch")),
    )
    return only === undefined ? names : Stream.provideService(names, FileSystem.WatchBackend, namesBackend(only))
  }

  return Files.of({
    readText,
    writeAtomic,
    append,
    stat,
    rename,
    remove,
    makeDir,
    createExclusive,
    touch,
    writeAtomicIf,
    list,
    createEmpty,
    chmod,
    watchNames,
  })
})

/**
 * `Files` over an implementation loaded on first use: `stat` (every request's store check) and `readText` run at
 * once through `node:fs`; every other operation waits for `load` (once per layer, `Effect.cached`) and goes to what it gave.
 */
const onFirstUse = (load: Effect.Effect<FilesShape>): FilesShape => {
  const via =
    <A extends ReadonlyArray<unknown>, B, E>(pick: (files: FilesShape) => (...args: A) => Effect.Effect<B, E>) =>
    (...args: A) =>
      Effect.flatMap(load, (files) => pick(files)(...args))
  return {
    readText: nativeReadText,
    writeAtomic: via((f) => f.writeAtomic),
    append: via((f) => f.append),
    stat: nativeStat,
    rename: via((f) => f.rename),
    remove: via((f) => f.remove),
    makeDir: via((f) => f.makeDir),
    createExclusive: via((f) => f.createExclusive),
    touch: via((f) => f.touch),
    writeAtomicIf: via((f) => f.writeAtomicIf),
    list: via((f) => f.list),
    createEmpty: via((f) => f.createEmpty),
    chmod: via((f) => f.chmod),
    watchNames: (dir, onReady, only) => Stream.unwrap(Effect.map(load, (f) => f.watchNames(dir, onReady, only))),
  }
}

export class Files extends Context.Service<Files, FilesShape>()("@cortexkit/openai-auth-core/Files") {
  /** Files over an already provided `FileSystem` (tests may swap in a faulty one) */
  static readonly layerNoDeps: Layer.Layer<Files, never, FileSystem.FileSystem> = Layer.effect(Files, make)
  /**
   * The real disk; `stat` skips the platform layer (see `nativeStat`). The platform file system
   * (`NodeFileSystem`, internal/files-node.ts) is loaded by the first operation other than `stat` and `readText`:
   * a plugin whose requests only read the store never loads it (docs/performance.md, start memory).
   */
  static readonly layer: Layer.Layer<Files> = Layer.effect(
    Files,
    Effect.map(
      Effect.cached(Effect.promise(() => import("./internal/files-node.ts")).pipe(Effect.flatMap((m) => m.nodeFiles))),
      (load) => Files.of(onFirstUse(load)),
    ),
  )
}
