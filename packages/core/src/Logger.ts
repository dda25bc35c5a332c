/**
 * The plugin's own log file (OpenCode owns stdout/stderr, so we cannot log there). Every line is redacted,
 * appends are serialized, the file rotates at 5 MiB keeping three older generations, and nothing here can
 * fail the caller: a broken disk costs one notice on stderr and then silence.
 */
import { dirname } from "node:path"
import { Cause, Clock, Context, Effect, Layer, Option, Semaphore } from "effect"
import { Files } from "./Files.ts"
import { isLogLevel, type LogLevel } from "./internal/settings-resolve.ts"
import { redact, redactValue } from "./Redact.ts"
import { Settings } from "./Settings.ts"

export { isLogLevel, type LogLevel, LogLevels } from "./internal/settings-resolve.ts"

export type LogFields = Readonly<Record<string, unknown>>

export interface LoggerShape {
  readonly error: (message: string, fields?: LogFields) => Effect.Effect<void>
  readonly warn: (message: string, fields?: LogFields) => Effect.Effect<void>
  readonly info: (message: string, fields?: LogFields) => Effect.Effect<void>
  readonly debug: (message: string, fields?: LogFields) => Effect.Effect<void>
  readonly trace: (message: string, fields?: LogFields) => Effect.Effect<void>
  readonly setLevel: (level: LogLevel) => Effect.Effect<void>
  readonly level: Effect.Effect<LogLevel>
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

/**
 * The shared shape around a line sink: the level is a plain variable so a suppressed call is one comparison
 * returning the shared `Effect.void` (the level is checked when the call is made, as `yield* log.debug(..)`
 * runs it at once).
 */
const makeShape = (
  initial: LogLevel,
  sink: (level: LogLevel, message: string, fields?: LogFields) => Effect.Effect<void>,
) => {
  let current = rank[initial]
  let currentLevel = initial
  const at =
    (level: LogLevel) =>
    (message: string, fields?: LogFields): Effect.Effect<void> =>
      rank[level] > current ? Effect.void : sink(level, message, fields)
  return Logger.of({
    error: at("error"),
    warn: at("warn"),
    info: at("info"),
    debug: at("debug"),
    trace: at("trace"),
    setLevel: (level) =>
      Effect.sync(() => {
        current = rank[level]
        currentLevel = level
      }),
    level: Effect.sync(() => currentLevel),
  })
}

/** A Logger appending to `options.path` through Files. */
export const makeFileLogger = Effect.fnUntraced(function* (options: FileLoggerOptions) {
  const files = yield* Files
  const lock = yield* Semaphore.make(1)
  const path = options.path
  const maxBytes = options.maxBytes ?? MAX_LOG_BYTES
  const generations = options.generations ?? LOG_GENERATIONS
  const notice = options.notice ?? ((text: string) => process.stderr.write(text))
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

  const writeLine = (line: string) =>
    Effect.gen(function* () {
      const bytes = Buffer.byteLength(line)
      if (size === undefined) {
        yield* files.makeDir(dirname(path))
        size = yield* currentSize
      }
      if (size > 0 && size + bytes > maxBytes) {
        // another process may share the file and have rotated already: trust the disk, not our count
        size = yield* currentSize
        if (size > 0 && size + bytes > maxBytes) {
          yield* rotate
          size = 0
        }
      }
      yield* files.append(path, line, { mode: 0o600 })
      size += bytes
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

  const sink = (level: LogLevel, message: string, fields?: LogFields) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      lock.withPermits(1)(
        Effect.suspend(() => writeLine(formatLine(now, level, message, fields))).pipe(
          // interruption is the caller's business; every other failure (typed or defect) is swallowed here
          Effect.catchCause((cause) =>
            Cause.hasInterruptsOnly(cause) ? Effect.interrupt : onFailure(Cause.squash(cause)),
          ),
        ),
      ),
    )

  return makeShape(options.level, sink)
})

export class Logger extends Context.Service<Logger, LoggerShape>()("@cortexkit/openai-auth-core/Logger") {
  /** the log file and initial level from Settings */
  static readonly layer: Layer.Layer<Logger, never, Settings | Files> = Layer.effect(
    Logger,
    Effect.gen(function* () {
      const settings = yield* Settings
      return yield* makeFileLogger({ path: settings.logFile, level: settings.logLevel })
    }),
  )

  /** drops every line; the level still reads back what was set */
  static readonly layerSilent: Layer.Layer<Logger> = Layer.effect(
    Logger,
    Effect.sync(() => makeShape("error", () => Effect.void)),
  )

  /** formatted, redacted lines handed to `sink` (tests of other packages assert on what would be logged) */
  static readonly layerCapture = (sink: (line: string) => void, level: LogLevel = "trace"): Layer.Layer<Logger> =>
    Layer.succeed(
      Logger,
      makeShape(level, (lineLevel, message, fields) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => sink(formatLine(now, lineLevel, message, fields))),
        ),
      ),
    )
}

/** Parses a user-typed level (`/openai-logging Debug`); undefined when it is not one. */
export const parseLogLevel = (raw: string): LogLevel | undefined => {
  const level = raw.trim().toLowerCase()
  return isLogLevel(level) ? level : undefined
}
