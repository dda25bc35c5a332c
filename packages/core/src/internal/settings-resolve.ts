/**
 * The pure half of settings: environment + parsed config file + machine defaults -> ResolvedSettings.
 * Kept free of I/O so every precedence rule is testable with plain objects.
 */
import { Result, Schema } from "effect"

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
  /** the Codex client version sent as the `version` header; unset: the model catalog's */
  readonly codexVersion?: string | undefined
  readonly logLevel: LogLevel
  readonly logFile: string
  readonly configFile: string
}

export interface SettingsDefaults {
  readonly tmpDir: string
  readonly homeDir: string
}

export type Env = Readonly<Record<string, string | undefined>>

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

export const EnvVars = {
  configFile: "OPENCODE_OPENAI_AUTH_FILE",
  configDir: "OPENCODE_CONFIG_DIR",
  xdgConfigHome: "XDG_CONFIG_HOME",
  noWebSearch: "CORTEXKIT_OPENAI_AUTH_NO_WEB_SEARCH",
  webSockets: "CORTEXKIT_OPENAI_AUTH_WEBSOCKETS",
  rawWebSocket: "CORTEXKIT_OPENAI_AUTH_RAW_WS",
  dump: "CORTEXKIT_OPENAI_AUTH_DUMP",
  dumpDir: "OPENCODE_OPENAI_AUTH_DUMP_DIR",
  codexApiEndpoint: "CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT",
  issuer: "CORTEXKIT_OPENAI_AUTH_ISSUER",
  usageEndpoint: "CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT",
  codexVersion: "CORTEXKIT_OPENAI_AUTH_CODEX_VERSION",
  logLevel: "OPENCODE_OPENAI_AUTH_LOG_LEVEL",
  logFile: "OPENCODE_OPENAI_AUTH_LOG_FILE",
} as const

const joinPath = (dir: string, name: string) => (dir.endsWith("/") ? `${dir}${name}` : `${dir}/${name}`)

const expandHome = (path: string, homeDir: string) =>
  path === "~" ? homeDir : path.startsWith("~/") ? joinPath(homeDir, path.slice(2)) : path

/** A set, non-blank environment value, trimmed. Blank strings count as unset for non-boolean settings. */
const envString = (env: Env, name: string): string | undefined => {
  const raw = env[name]
  if (raw === undefined) return undefined
  const trimmed = raw.trim()
  return trimmed === "" ? undefined : trimmed
}

/** `<config dir>/openai-auth.json`; `OPENCODE_OPENAI_AUTH_FILE` replaces the whole path. */
export const configPath = (env: Env, homeDir: string): string => {
  const explicit = envString(env, EnvVars.configFile)
  if (explicit !== undefined) return expandHome(explicit, homeDir)
  const configDir = envString(env, EnvVars.configDir)
  if (configDir !== undefined) return joinPath(expandHome(configDir, homeDir), "openai-auth.json")
  const xdg = envString(env, EnvVars.xdgConfigHome)
  if (xdg !== undefined) return joinPath(joinPath(expandHome(xdg, homeDir), "opencode"), "openai-auth.json")
  return joinPath(joinPath(homeDir, ".config/opencode"), "openai-auth.json")
}

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
type FileSettings = { -readonly [K in FileField]?: (typeof fileFieldSchemas)[K]["Type"] }

const decoders = Object.fromEntries(
  Object.entries(fileFieldSchemas).map(([key, schema]) => [key, Schema.decodeUnknownResult(schema)]),
) as { [K in FileField]: (input: unknown) => Result.Result<(typeof fileFieldSchemas)[K]["Type"], Schema.SchemaError> }

const decodeFile = (file: unknown): Result.Result<FileSettings, SettingsError> => {
  if (file === undefined || file === null) return Result.succeed({})
  if (typeof file !== "object" || Array.isArray(file)) {
    return Result.fail(
      new SettingsError({ message: "the config file must hold a JSON object", key: "<file>", value: describe(file) }),
    )
  }
  const record = file as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(fileFieldSchemas) as Array<FileField>) {
    const raw = record[key]
    if (raw === undefined) continue
    const decoded = decoders[key](raw)
    if (Result.isFailure(decoded)) {
      return Result.fail(
        new SettingsError({
          message: `config field "${key}": ${decoded.failure.message}`,
          key,
          value: describe(raw),
        }),
      )
    }
    if (decoded.success !== null) out[key] = decoded.success
  }
  return Result.succeed(out as FileSettings)
}

class Bad {
  constructor(readonly error: SettingsError) {}
}

const fail = (key: string, value: string, why: string): never => {
  throw new Bad(new SettingsError({ message: `${key}=${JSON.stringify(value)}: ${why}`, key, value }))
}

const booleanFrom = (key: string, raw: string): boolean =>
  parseBoolean(raw) ?? fail(key, raw, "expected one of 1/true/yes/on or 0/false/no/off/(empty)")

const fileBoolean = (key: FileField, value: boolean | string | undefined): boolean | undefined =>
  value === undefined ? undefined : typeof value === "boolean" ? value : booleanFrom(key, value)

const fileString = (value: string | undefined): string | undefined => {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  return trimmed === "" ? undefined : trimmed
}

const checkUrl = (key: string, value: string): string => {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return fail(key, value, "not a valid URL")
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") fail(key, value, "expected an http(s) URL")
  return value
}

/** a Codex client version: dotted numbers, optionally a pre-release tag (`0.144.0`, `0.153.0-alpha.5`) */
const VERSION = /^\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?$/

const envBoolean = (env: Env, name: string): boolean | undefined => {
  const raw = env[name]
  return raw === undefined ? undefined : booleanFrom(name, raw)
}

/**
 * Environment over config file over defaults. Pure: the caller supplies the environment, the parsed file
 * (or `undefined` when there is none) and the machine's tmp/home directories.
 */
export const resolveSettings = (
  env: Env,
  file: unknown,
  defaults: SettingsDefaults,
): Result.Result<ResolvedSettings, SettingsError> => {
  const decoded = decodeFile(file)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure)
  const f = decoded.success
  const home = defaults.homeDir
  try {
    const webSearch = envBoolean(env, EnvVars.noWebSearch)
      ? false
      : (fileBoolean("webSearch", f.webSearch ?? undefined) ?? true)
    const webSockets = envBoolean(env, EnvVars.webSockets) ?? fileBoolean("webSockets", f.webSockets ?? undefined)
    const rawWebSocket =
      envBoolean(env, EnvVars.rawWebSocket) ?? fileBoolean("rawWebSocket", f.rawWebSocket ?? undefined)
    const dump = envBoolean(env, EnvVars.dump) ?? fileBoolean("dump", f.dump ?? undefined)

    const url = (field: "codexApiEndpoint" | "issuer" | "usageEndpoint", fallback: string) => {
      const fromEnv = envString(env, EnvVars[field])
      if (fromEnv !== undefined) return checkUrl(EnvVars[field], fromEnv)
      const fromFile = fileString(f[field] ?? undefined)
      return fromFile !== undefined ? checkUrl(field, fromFile) : fallback
    }

    const levelFromEnv = envString(env, EnvVars.logLevel)
    const levelFromFile = fileString(f.logLevel ?? undefined)
    const levelKey = levelFromEnv !== undefined ? EnvVars.logLevel : "logLevel"
    const levelRaw = levelFromEnv ?? levelFromFile ?? "info"
    const level = levelRaw.toLowerCase()
    const logLevel = isLogLevel(level) ? level : fail(levelKey, levelRaw, `expected one of ${LogLevels.join("|")}`)

    const dumpDir = envString(env, EnvVars.dumpDir) ?? fileString(f.dumpDir ?? undefined)
    const versionFromEnv = envString(env, EnvVars.codexVersion)
    const versionRaw = versionFromEnv ?? fileString(f.codexVersion ?? undefined)
    const codexVersion =
      versionRaw === undefined || VERSION.test(versionRaw)
        ? versionRaw
        : fail(
            versionFromEnv !== undefined ? EnvVars.codexVersion : "codexVersion",
            versionRaw,
            "expected a version like 0.144.0",
          )
    const logFile = envString(env, EnvVars.logFile)

    return Result.succeed({
      webSearch,
      webSockets: webSockets ?? false,
      rawWebSocket: rawWebSocket ?? false,
      dump: dump ?? false,
      dumpDir:
        dumpDir !== undefined ? expandHome(dumpDir, home) : joinPath(defaults.tmpDir, "opencode-openai-auth-dumps"),
      codexApiEndpoint: url("codexApiEndpoint", DEFAULT_CODEX_ENDPOINT),
      issuer: url("issuer", DEFAULT_ISSUER),
      usageEndpoint: url("usageEndpoint", DEFAULT_USAGE_ENDPOINT),
      ...(codexVersion === undefined ? {} : { codexVersion }),
      logLevel,
      logFile:
        logFile !== undefined ? expandHome(logFile, home) : joinPath(defaults.tmpDir, "opencode-openai-auth.log"),
      configFile: configPath(env, home),
    })
  } catch (error) {
    if (error instanceof Bad) return Result.fail(error.error)
    throw error
  }
}
