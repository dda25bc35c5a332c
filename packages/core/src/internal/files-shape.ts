/**
 * What `Files` offers (`FilesShape`), its error and stat shapes, and the translation of platform errors into
 * them (messages that say what is wrong with the file, not which syscall failed). Re-exported by Files.ts.
 */
import type { Effect, FileSystem, Option, Stream } from "effect"
import { Schema } from "effect"
import type { PlatformError } from "effect/PlatformError"

export class FileError extends Schema.TaggedError<FileError>()("FileError", {
  path: Schema.String,
  operation: Schema.String,
  message: Schema.String,
  /** the errno code when the OS gave one (`ENOENT`, `EACCES`, ...), else the platform reason tag */
  code: Schema.optional(Schema.String),
}) {}

export interface FileStat {
  readonly size: number
  readonly mtimeMs: number
  /** inode number when known: an atomic replace always changes it, which mtime (ms) alone may not show */
  readonly ino?: number
  /** a regular file, a directory, or anything else (a FIFO, a socket, a device) */
  readonly kind: "file" | "directory" | "other"
  /** the permission bits (`0o777` part of the mode) */
  readonly mode: number
}

/** What a file must hold at the moment of a guarded replace: exactly `text`, or nothing (`undefined`). */
export interface Expectation {
  readonly path: string
  readonly text: string | undefined
}

export const errnoCode = (error: PlatformError): string => {
  const reason = error.reason
  if (reason._tag === "BadArgument") return "BadArgument"
  const cause = reason.cause as { readonly code?: unknown } | undefined
  return typeof cause?.code === "string" ? cause.code : reason._tag
}

export const isNotFound = (error: PlatformError) => error.reason._tag === "NotFound"
export const isAlreadyExists = (error: PlatformError) => error.reason._tag === "AlreadyExists"

export const toFileError =
  (path: string, operation: string) =>
  (error: PlatformError): FileError =>
    new FileError({ path, operation, message: error.message, code: errnoCode(error) })

export const nativeError = (path: string, operation: string) => (error: unknown) => {
  const code = (error as { readonly code?: unknown }).code
  return new FileError({
    path,
    operation,
    message: error instanceof Error ? error.message : String(error),
    code: typeof code === "string" ? code : "Unknown",
  })
}

/** a path that exists but is not a regular file, said so (a read would hang on a FIFO) */
export const notAFile = (path: string, operation: string, kind: FileStat["kind"]) =>
  new FileError({
    path,
    operation,
    message: `${path} is not a regular file but ${kind === "directory" ? "a directory" : "a FIFO, socket or device"}`,
    code: kind === "directory" ? "EISDIR" : "ENOTREG",
  })

/** the platform's message names the syscall; a permission problem is said in words */
export const plainly = (error: FileError): FileError =>
  error.code === "EACCES" || error.code === "EPERM"
    ? new FileError({
        path: error.path,
        operation: error.operation,
        message: `${error.path}: permission denied (its mode or owner does not let this user ${error.operation} it)`,
        code: error.code,
      })
    : error

export const kindOf = (type: FileSystem.File.Type): FileStat["kind"] =>
  type === "File" ? "file" : type === "Directory" ? "directory" : "other"

export interface FilesShape {
  /** None when the file does not exist */
  readonly readText: (path: string) => Effect.Effect<Option.Option<string>, FileError>
  /** temp file in the same dir + fsync + rename (+ dir fsync); parent dir created 0700; file mode default 0600 */
  readonly writeAtomic: (
    path: string,
    data: string | Uint8Array,
    options?: { readonly mode?: number },
  ) => Effect.Effect<void, FileError>
  /** creates the file (and its parent dir, 0700) with `mode` (default 0600) when missing */
  readonly append: (path: string, data: string, options?: { readonly mode?: number }) => Effect.Effect<void, FileError>
  readonly stat: (path: string) => Effect.Effect<Option.Option<FileStat>, FileError>
  readonly rename: (from: string, to: string) => Effect.Effect<void, FileError>
  /** a missing file is fine */
  readonly remove: (path: string) => Effect.Effect<void, FileError>
  /** recursive; default mode 0700 */
  readonly makeDir: (path: string, options?: { readonly mode?: number }) => Effect.Effect<void, FileError>
  /**
   * Creates `path` holding `data` only if nothing is there; false when it already exists. The content is
   * complete the moment the file appears (written aside, then hard-linked into place), so readers never
   * see a half-written file.
   */
  readonly createExclusive: (
    path: string,
    data: string,
    options?: { readonly mode?: number },
  ) => Effect.Effect<boolean, FileError>
  /** sets the access and modification times to `atMs` (epoch ms), e.g. a lock heartbeat */
  readonly touch: (path: string, atMs: number) => Effect.Effect<void, FileError>
  /**
   * `writeAtomic` whose rename happens only if every expectation holds at that moment: the files are read and
   * compared, and the temp file renamed, back to back with no other work of this process in between. False
   * (and the temp file removed, the target untouched) when one does not hold. The fence of a write made
   * under a lock that may have been broken meanwhile (accounts Store).
   */
  readonly writeAtomicIf: (
    path: string,
    data: string,
    expected: ReadonlyArray<Expectation>,
    options?: { readonly mode?: number },
  ) => Effect.Effect<boolean, FileError>
  /** the names in a directory (none when it does not exist) */
  readonly list: (dir: string) => Effect.Effect<ReadonlyArray<string>, FileError>
  /** creates an empty file with `mode` (default 0600) only if nothing is there; false when it already exists */
  readonly createEmpty: (path: string, options?: { readonly mode?: number }) => Effect.Effect<boolean, FileError>
  /** sets the permission bits */
  readonly chmod: (path: string, mode: number) => Effect.Effect<void, FileError>
  /**
   * The names that change in a directory (created, changed, removed), from the moment `onReady` is called;
   * the stream fails when the platform cannot watch (no inotify, too many watches). With `only`, just the names
   * it accepts, and no look at the others (internal/files-watch.ts).
   */
  readonly watchNames: (
    dir: string,
    onReady?: () => void,
    only?: (name: string) => boolean,
  ) => Stream.Stream<string, FileError>
}
