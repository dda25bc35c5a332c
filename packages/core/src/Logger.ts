/**
 * The plugin's log file, as an Effect `Logger` of its own (OpenCode owns stdout/stderr, so nothing may go
 * there). Code logs with `Effect.logInfo("message", { field: value })` / `Effect.logDebug(..)` and needs no
 * service for it; this module's layers put the file logger in place of Effect's console logger and keep the
 * level, which `/openai-logging` changes while the process runs.
 *
 * Every line is redacted and single-line, `<ISO time> <LEVEL> <message> <fields JSON>`. The caller only
 * queues the entry: one background fiber formats and appends, so a request never waits for the disk. The
 * file rotates at 5 MiB keeping three older generations, and nothing here can fail the caller: a broken disk
 * costs one notice on stderr and then silence.
 */
import { dirname } from "node:path"
import {
  Cause,
  Clock,
  Context,
  Deferred,
  Effect,
  Logger as EffectLogger,
  type LogLevel as EffectLogLevel,
  Layer,
  Option,
  Queue,
  References,
  type Scope,
} from "effect"
import { Files } from "./Files.ts"
import { isLogLevel, type LogLevel } from "./internal/settings-resolve.ts"
import { redact, redactValue } from "./Redact.ts"
import { Settings } from "./Settings.ts"

export { isLogLevel, type LogLevel, LogLevels } from "./internal/settings-resolve.ts"

export type LogFields = Readonly<Record<string, unknown>>

export interface LoggerShape {
  /** the line `Effect.logError(message, fields)` would write, but always to this logger, whichever fiber calls */
  readonly error: (message: string, fields?: LogFields) => Effect.Effect<void>
  readonly warn: (message: string, fields?: LogFields) => Effect.Effect<void>
  readonly info: (message: string, fields?: LogFields) => Effect.Effect<void>
  readonly debug: (message: string, fields?: LogFields) => Effect.Effect<void>
  readonly trace: (message: string, fields?: LogFields) => Effect.Effect<void>
  /** applies at once to every fiber of the runtime, including those already running */
  readonly setLevel: (level: LogLevel) => Effect.Effect<void>
  readonly level: Effect.Effect<LogLevel>
  /** completes once every line logged before it is in the file (a CLI before it exits, tests) */
  readonly flush: Effect.Effect<void>
}

export const MAX_LOG_BYTES = 5 * 1024 * 1024
export const LOG_GENERATIONS = 3

export interface FileLoggerOptions {
  readonly path: string
  readonly level: LogLevel
  /** rotate before a line would take the file past this size */
  readonly maxBytes?: number
  /** older files kept: `<path>.1` (newest) .. `<path>.<generations>` */
  readonly generations?: number
  /** where the single I/O failure notice goes */
  readonly notice?: (text: string) => void
}

const rank: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 }
const LABEL: Record<LogLevel, string> = { error: "ERROR", warn: "WARN", info: "INFO", debug: "DEBUG", trace: "TRACE" }
const FROM_EFFECT: Record<EffectLogLevel.LogLevel, LogLevel | undefined> = {
  All: "trace",
  Fatal: "error",
  Error: "error",
  Warn: "warn",
  Info: "info",
  Debug: "debug",
  Trace: "trace",
  None: undefined,
}

const safeJson = (value: unknown): string => {
  try {
    return JSON.stringify(value) ?? ""
  } catch {
    return '"[unserializable]"'
  }
}

/** One log line: `<ISO time> <LEVEL> <message> <fields JSON>\n`, redacted, always a single line. */
export const formatLine = (nowMs: number, level: LogLevel, message: string, fields?: LogFields): string => {
  const text = redact(message).replace(/\r?\n/g, "\\n")
  const hasFields = fields !== undefined && Object.keys(fields).length > 0
  const json = hasFields ? ` ${safeJson(redactValue(fields))}` : ""
  return `${new Date(nowMs).toISOString()} ${LABEL[level]} ${text}${json}\n`
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Error)

/** What an Effect log call carried, kept unformatted until the writer fiber gets to it. */
interface Entry {
  readonly at: number
  readonly level: LogLevel
  readonly message: unknown
  readonly annotations: Readonly<Record<string, unknown>>
  readonly cause: Cause.Cause<unknown>
}

/**
 * `Effect.logInfo("text", { a: 1 }, "more")`: strings make the message, plain objects the fields, anything
 * else a field of its own; the fiber's log annotations come first, and a failure cause becomes `cause`.
 */
export const formatEntry = (entry: Entry): string => {
  const parts = Array.isArray(entry.message) ? entry.message : [entry.message]
  const words: Array<string> = []
  const fields: Record<string, unknown> = { ...entry.annotations }
  for (const part of parts) {
    if (typeof part === "string") words.push(part)
    else if (isPlainObject(part)) Object.assign(fields, part)
    else if (part instanceof Error) fields.error = part
    else if (part !== undefined) words.push(safeJson(part))
  }
  if (entry.cause.reasons.length > 0) {
    fields.cause = Cause.hasInterruptsOnly(entry.cause) ? "interrupted" : Cause.squash(entry.cause)
  }
  return formatLine(entry.at, entry.level, words.join(" "), fields)
}

/** The live level every logger below filters by: a plain variable, so a dropped line costs one comparison. */
const makeLevel = (initial: LogLevel) => {
  let current = initial
  return {
    allows: (level: LogLevel) => rank[level] <= rank[current],
    get: Effect.sync(() => current),
    set: (level: LogLevel) =>
      Effect.sync(() => {
        current = level
      }),
  }
}

const controlOf = (
  level: ReturnType<typeof makeLevel>,
  push: (entry: Entry) => void,
  flush: Effect.Effect<void>,
): LoggerShape => {
  // straight to this logger (not through the calling fiber's loggers), so a service taken from one layer
  // writes where that layer writes whichever fiber calls it
  const at =
    (l: LogLevel) =>
    (message: string, fields?: LogFields): Effect.Effect<void> =>
      level.allows(l)
        ? Effect.gen(function* () {
            const at = yield* Clock.currentTimeMillis
            const annotations = yield* References.CurrentLogAnnotations
            push({
              at,
              level: l,
              message: fields === undefined ? [message] : [message, fields],
              annotations,
              cause: Cause.empty,
            })
          })
        : Effect.void
  return {
    error: at("error"),
    warn: at("warn"),
    info: at("info"),
    debug: at("debug"),
    trace: at("trace"),
    setLevel: level.set,
    level: level.get,
    flush,
  }
}

/** An Effect logger that hands each entry at or above the live level to `push`. */
const entryLogger = (level: ReturnType<typeof makeLevel>, push: (entry: Entry) => void) =>
  EffectLogger.make<unknown, void>((options) => {
    const ours = FROM_EFFECT[options.logLevel]
    if (ours === undefined || !level.allows(ours)) return
    push({
      at: options.date.getTime(),
      level: ours,
      message: options.message,
      annotations: options.fiber.getRef(References.CurrentLogAnnotations),
      cause: options.cause,
    })
  })

type Queued =
  | { readonly _tag: "Entry"; readonly entry: Entry }
  | { readonly _tag: "Flush"; readonly done: Deferred.Deferred<void> }

/**
 * The file logger: the Effect logger to install and its control. Lines are appended by one fiber living in
 * the caller's scope; closing the scope writes what is still queued.
 */
export const makeFileLogger = Effect.fnUntraced(function* (options: FileLoggerOptions) {
  const files = yield* Files
  const path = options.path
  const maxBytes = options.maxBytes ?? MAX_LOG_BYTES
  const generations = options.generations ?? LOG_GENERATIONS
  const notice = options.notice ?? ((text: string) => process.stderr.write(text))
  const level = makeLevel(options.level)
  const queue = yield* Queue.unbounded<Queued>()
  let size: number | undefined
  let noticed = false

  const currentSize = files.stat(path).pipe(Effect.map(Option.match({ onNone: () => 0, onSome: (s) => s.size })))

  const rotate = Effect.gen(function* () {
    yield* files.remove(`${path}.${generations}`)
    for (let n = generations - 1; n >= 1; n--) {
      const from = `${path}.${n}`
      if (Option.isSome(yield* files.stat(from))) yield* files.rename(from, `${path}.${n + 1}`)
    }
    yield* files.rename(path, `${path}.1`)
  })

  /** appends `lines`, rotating before any line would take the file past `maxBytes` */
  const writeLines = (lines: ReadonlyArray<string>) =>
    Effect.gen(function* () {
      if (size === undefined) {
        yield* files.makeDir(dirname(path))
        size = yield* currentSize
      }
      let chunk = ""
      let chunkBytes = 0
      for (const line of lines) {
        const bytes = Buffer.byteLength(line)
        if (size + chunkBytes > 0 && size + chunkBytes + bytes > maxBytes) {
          if (chunk !== "") yield* files.append(path, chunk, { mode: 0o600 })
          size += chunkBytes
          chunk = ""
          chunkBytes = 0
          // another process may share the file and have rotated already: trust the disk, not our count
          size = yield* currentSize
          if (size > 0 && size + bytes > maxBytes) {
            yield* rotate
            size = 0
          }
        }
        chunk += line
        chunkBytes += bytes
      }
      if (chunk !== "") yield* files.append(path, chunk, { mode: 0o600 })
      size += chunkBytes
    })

  const onFailure = (cause: unknown) =>
    Effect.sync(() => {
      size = undefined
      if (noticed) return
      noticed = true
      const reason = cause instanceof Error ? cause.message : safeJson(redactValue(cause))
      try {
        notice(`[openai-auth] cannot write log file ${path}: ${redact(reason)} (further log errors are silent)\n`)
      } catch {
        // stderr itself is gone; nothing left to tell
      }
    })

  const write = (lines: ReadonlyArray<string>) =>
    lines.length === 0
      ? Effect.void
      : Effect.suspend(() => writeLines(lines)).pipe(
          Effect.catchCause((cause) =>
            Cause.hasInterruptsOnly(cause) ? Effect.interrupt : onFailure(Cause.squash(cause)),
          ),
        )

  const drainOnce = Effect.gen(function* () {
    const batch = yield* Queue.takeAll(queue)
    let lines: Array<string> = []
    for (const item of batch) {
      if (item._tag === "Entry") {
        lines.push(formatEntry(item.entry))
      } else {
        yield* write(lines)
        lines = []
        yield* Deferred.succeed(item.done, undefined)
      }
    }
    yield* write(lines)
  })

  const flush = Effect.gen(function* () {
    const done = yield* Deferred.make<void>()
    Queue.offerUnsafe(queue, { _tag: "Flush", done })
    yield* Deferred.await(done)
  })

  yield* Effect.forkScoped(Effect.forever(drainOnce))
  // runs before the writer is interrupted (finalizers run in reverse): nothing logged is lost on close
  yield* Effect.addFinalizer(() => flush)

  const push = (entry: Entry) => {
    Queue.offerUnsafe(queue, { _tag: "Entry", entry })
  }
  return { logger: entryLogger(level, push), control: controlOf(level, push, flush) }
})

/** Our loggers replace Effect's (the console would write into OpenCode's screen); our level does the filtering. */
const install = (logger: EffectLogger.Logger<unknown, void> | undefined, control: LoggerShape) =>
  Context.make(Logger, control).pipe(
    Context.add(EffectLogger.CurrentLoggers, new Set(logger === undefined ? [] : [logger])),
    Context.add(References.MinimumLogLevel, "All"),
  )

export class Logger extends Context.Service<Logger, LoggerShape>()("@cortexkit/openai-auth-core/Logger") {
  /** the file logger at `options.path`; its writer fiber lives as long as the layer */
  static readonly layerWith = (options: FileLoggerOptions): Layer.Layer<Logger, never, Files> =>
    Layer.effectContext(
      Effect.map(makeFileLogger(options), ({ logger, control }) => install(logger, control)) as Effect.Effect<
        Context.Context<Logger>,
        never,
        Files | Scope.Scope
      >,
    )

  /** the log file and initial level from Settings */
  static readonly layer: Layer.Layer<Logger, never, Settings | Files> = Layer.unwrap(
    Effect.gen(function* () {
      const settings = yield* Settings
      return Logger.layerWith({ path: settings.logFile, level: settings.logLevel })
    }),
  )

  /** drops every line (no console either); the level still reads back what was set */
  static readonly layerSilent: Layer.Layer<Logger> = Layer.effectContext(
    Effect.sync(() =>
      install(
        undefined,
        controlOf(makeLevel("error"), () => undefined, Effect.void),
      ),
    ),
  )

  /** formatted, redacted lines handed to `sink` as they are logged (tests assert on what would be logged) */
  static readonly layerCapture = (sink: (line: string) => void, initial: LogLevel = "trace"): Layer.Layer<Logger> =>
    Layer.effectContext(
      Effect.sync(() => {
        const level = makeLevel(initial)
        const push = (entry: Entry) => sink(formatEntry(entry))
        return install(entryLogger(level, push), controlOf(level, push, Effect.void))
      }),
    )
}

/** Parses a user-typed level (`/openai-logging Debug`); undefined when it is not one. */
export const parseLogLevel = (raw: string): LogLevel | undefined => {
  const level = raw.trim().toLowerCase()
  return isLogLevel(level) ? level : undefined
}
