/**
 * Settings from their sources: the environment over the settings file over defaults, each source an Effect
 * `ConfigProvider` (one over the environment record, one over the parsed file). The names are the host's
 * (`SettingsNames`): the library knows the settings, never which host it runs in. Every value is parsed here
 * by its kind (boolean, URL, path, log level) rather than through `Config`'s schema decoding, which builds a
 * schema parser per lookup (a fresh process's first resolve took 15-55 ms that way, 2-16 ms this way, side by
 * side on a loaded machine). A bad value is a `SettingsError` naming the variable or file field and what it held.
 */
import { ConfigProvider, Effect, Option, Result, Schema } from "effect"
import { configPath, expandHome, joinPath, type SettingsEnvNames, type SettingsSource } from "./settings-names.ts"

export * from "./settings-names.ts"

export const LogLevels = ["error", "warn", "info", "debug", "trace"] as const
export const LogLevel = Schema.Literals(LogLevels)
export type LogLevel = typeof LogLevel.Type

export const isLogLevel = (value: unknown): value is LogLevel =>
  typeof value === "string" && (LogLevels as ReadonlyArray<string>).includes(value)

export interface ResolvedSettings {
  readonly webSearch: boolean
  readonly webSockets: boolean
  readonly rawWebSocket: boolean
  readonly dump: boolean
  readonly dumpDir: string
  readonly codexApiEndpoint: string
  readonly issuer: string
  readonly usageEndpoint: string
  /** the Codex client version sent in the `version` header; unset = the catalog's (docs/protocol.md) */
  readonly codexVersion?: string | undefined
  readonly logLevel: LogLevel
  readonly logFile: string
  readonly configFile: string
}

export interface SettingsDefaults {
  readonly tmpDir: string
  readonly homeDir: string
}

/** A bad setting. `key` is the environment variable or config field at fault, `value` what it held. */
export class SettingsError extends Schema.TaggedError<SettingsError>()("SettingsError", {
  message: Schema.String,
  key: Schema.optional(Schema.String),
  value: Schema.optional(Schema.String),
  path: Schema.optional(Schema.String),
}) {}

export const DEFAULT_CODEX_ENDPOINT = "https://chatgpt.com/backend-api/codex/responses"
export const DEFAULT_ISSUER = "https://auth.openai.com"
export const DEFAULT_USAGE_ENDPOINT = "https://chatgpt.com/backend-api/wham/usage"

/** The WebSocket URL of a Codex endpoint: same URL, `https:` -> `wss:`, `http:` -> `ws:`. */
export const wsUrlFor = (codexEndpoint: string): string => {
  if (codexEndpoint.startsWith("https:")) return `wss:${codexEndpoint.slice(6)}`
  if (codexEndpoint.startsWith("http:")) return `ws:${codexEndpoint.slice(5)}`
  return codexEndpoint
}

const TRUE_FORMS = new Set(["1", "true", "yes", "on"])
const FALSE_FORMS = new Set(["0", "false", "no", "off", ""])

/** `undefined` when `raw` is not one of the accepted boolean spellings. */
export const parseBoolean = (raw: string): boolean | undefined => {
  const normalized = raw.trim().toLowerCase()
  if (TRUE_FORMS.has(normalized)) return true
  if (FALSE_FORMS.has(normalized)) return false
  return undefined
}

const describe = (value: unknown): string => {
  if (typeof value === "string") return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

const BoolLike = Schema.NullOr(Schema.Union([Schema.Boolean, Schema.String]))
const StringLike = Schema.NullOr(Schema.String)

// The file is shared with the account store: only these fields are read, anything else is left alone.
export const fileFieldSchemas = {
  webSearch: BoolLike,
  webSockets: BoolLike,
  rawWebSocket: BoolLike,
  dump: BoolLike,
  dumpDir: StringLike,
  codexApiEndpoint: StringLike,
  issuer: StringLike,
  usageEndpoint: StringLike,
  codexVersion: StringLike,
  logLevel: StringLike,
} as const

type FileField = keyof typeof fileFieldSchemas

/** The settings fields as optional keys, for a larger document that embeds them (the account store). */
export const optionalFileFields = Object.fromEntries(
  Object.entries(fileFieldSchemas).map(([key, schema]) => [key, Schema.optionalKey(schema)]),
) as { readonly [K in FileField]: Schema.optionalKey<(typeof fileFieldSchemas)[K]> }

// ---- reading one setting ---------------------------------------------------------------------------------

/** One source of raw values: a provider, and how a key of it is named in an error. */
interface Source {
  readonly provider: ConfigProvider.ConfigProvider
  readonly raw: (key: string) => unknown
}

const notScalar = (key: string, value: unknown) =>
  new SettingsError({
    message: `config field "${key}": expected a string, a number or a boolean, got ${describe(value)}`,
    key,
    value: describe(value),
  })

/**
 * The raw text at `key`, None when the source does not have it. The file's provider reports an object or an
 * array where a value belongs as a node without a value; here it is an error, or a typo'd file would silently
 * mean the default (an environment variable that only prefixes others is simply not set).
 */
const rawAt = (source: Source, key: string): Effect.Effect<Option.Option<string>, SettingsError> =>
  source.provider.load([key]).pipe(
    Effect.mapError((error) => new SettingsError({ message: `cannot read ${key}: ${error.message}`, key })),
    Effect.flatMap((node) => {
      if (node?.value !== undefined) return Effect.succeed(Option.some(node.value))
      const value = source.raw(key)
      return typeof value === "object" && value !== null
        ? Effect.fail(notScalar(key, value))
        : Effect.succeed(Option.none())
    }),
  )

const bad = (key: string, value: string, why: string) =>
  new SettingsError({ message: `${key}=${JSON.stringify(value)}: ${why}`, key, value })

/** How a kind of setting is parsed; `undefined` means "not set here", so the next source is asked. */
type Parse<A> = (key: string, raw: string) => Result.Result<A | undefined, SettingsError>

const booleanValue: Parse<boolean> = (key, raw) => {
  const value = parseBoolean(raw)
  return value === undefined
    ? Result.fail(bad(key, raw, "expected one of 1/true/yes/on or 0/false/no/off/(empty)"))
    : Result.succeed(value)
}

const stringValue: Parse<string> = (_key, raw) => {
  const trimmed = raw.trim()
  return Result.succeed(trimmed === "" ? undefined : trimmed)
}

const urlValue: Parse<string> = (key, raw) => {
  const value = raw.trim()
  if (value === "") return Result.succeed(undefined)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return Result.fail(bad(key, value, "not a valid URL"))
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    return Result.fail(bad(key, value, "expected an http(s) URL"))
  return Result.succeed(value)
}

/** a Codex client version: dotted numbers, optionally a pre-release tag (`0.144.0`, `0.153.0-alpha.5`) */
const VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?$/

const versionValue: Parse<string> = (key, raw) => {
  const value = raw.trim()
  if (value === "") return Result.succeed(undefined)
  return VERSION.test(value) ? Result.succeed(value) : Result.fail(bad(key, value, "expected a version like 0.144.0"))
}

const logLevelValue: Parse<LogLevel> = (key, raw) => {
  const trimmed = raw.trim()
  if (trimmed === "") return Result.succeed(undefined)
  const level = trimmed.toLowerCase()
  return isLogLevel(level)
    ? Result.succeed(level)
    : Result.fail(bad(key, trimmed, `expected one of ${LogLevels.join("|")}`))
}

/** The first source (in order) that sets the value, parsed; None when none does. */
const firstSet = <A>(
  parse: Parse<A>,
  lookups: ReadonlyArray<readonly [Source, string]>,
): Effect.Effect<Option.Option<A>, SettingsError> =>
  Effect.gen(function* () {
    for (const [source, key] of lookups) {
      const raw = yield* rawAt(source, key)
      if (Option.isNone(raw)) continue
      const parsed = parse(key, raw.value)
      if (Result.isFailure(parsed)) return yield* parsed.failure
      if (parsed.success !== undefined) return Option.some(parsed.success)
    }
    return Option.none()
  })

const checkFile = (file: unknown): Effect.Effect<unknown, SettingsError> =>
  file === undefined || file === null || (typeof file === "object" && !Array.isArray(file))
    ? Effect.succeed(file ?? {})
    : Effect.fail(
        new SettingsError({ message: "the config file must hold a JSON object", key: "<file>", value: describe(file) }),
      )

/**
 * Environment over config file over defaults: `file` is the parsed settings file (`undefined` when there is
 * none), `defaults` the machine's tmp and home directories.
 */
export const settingsFrom = (
  source: SettingsSource,
  file: unknown,
  defaults: SettingsDefaults,
): Effect.Effect<ResolvedSettings, SettingsError> =>
  Effect.gen(function* () {
    const json = (yield* checkFile(file)) as Record<string, unknown>
    const names = source.names.env
    // only the host's variables: the provider indexes every name it is given
    const own = Object.fromEntries(Object.values(names).map((name) => [name, source.env[name]]))
    const env: Source = {
      provider: ConfigProvider.fromEnvRecord(own, { preserveEmptyStrings: true }),
      raw: (key) => own[key],
    }
    const fromFile: Source = {
      provider: ConfigProvider.fromUnknown(json, { preserveEmptyStrings: true }),
      raw: (key) => json[key],
    }
    const home = defaults.homeDir
    const read = <A>(parse: Parse<A>, field: FileField & keyof SettingsEnvNames, fallback: A) =>
      Effect.map(
        firstSet(parse, [
          [env, names[field]],
          [fromFile, field],
        ]),
        Option.getOrElse(() => fallback),
      )
    const disabledByEnv = yield* firstSet(booleanValue, [[env, names.noWebSearch]])
    const webSearch = Option.getOrElse(disabledByEnv, () => false)
      ? false
      : Option.getOrElse(yield* firstSet(booleanValue, [[fromFile, "webSearch"]]), () => true)
    const dumpDir = yield* firstSet(stringValue, [
      [env, names.dumpDir],
      [fromFile, "dumpDir"],
    ])
    const logFile = yield* firstSet(stringValue, [[env, names.logFile]])
    const codexVersion = yield* firstSet(versionValue, [
      [env, names.codexVersion],
      [fromFile, "codexVersion"],
    ])
    return {
      webSearch,
      webSockets: yield* read(booleanValue, "webSockets", false),
      rawWebSocket: yield* read(booleanValue, "rawWebSocket", false),
      dump: yield* read(booleanValue, "dump", false),
      dumpDir: Option.match(dumpDir, {
        onNone: () => joinPath(defaults.tmpDir, source.names.dumpDirName),
        onSome: (dir) => expandHome(dir, home),
      }),
      codexApiEndpoint: yield* read(urlValue, "codexApiEndpoint", DEFAULT_CODEX_ENDPOINT),
      issuer: yield* read(urlValue, "issuer", DEFAULT_ISSUER),
      usageEndpoint: yield* read(urlValue, "usageEndpoint", DEFAULT_USAGE_ENDPOINT),
      ...(Option.isSome(codexVersion) ? { codexVersion: codexVersion.value } : {}),
      logLevel: yield* read(logLevelValue, "logLevel", "info"),
      logFile: Option.match(logFile, {
        onNone: () => joinPath(defaults.tmpDir, source.names.logFileName),
        onSome: (path) => expandHome(path, home),
      }),
      configFile: configPath(source, home),
    } satisfies ResolvedSettings
  })

/** `settingsFrom` for callers outside Effect (every source is in memory, so this never waits). */
export const resolveSettings = (
  source: SettingsSource,
  file: unknown,
  defaults: SettingsDefaults,
): Result.Result<ResolvedSettings, SettingsError> => Effect.runSync(Effect.result(settingsFrom(source, file, defaults)))
