/**
 * The names of the settings, which are the host's: its environment variables, where its settings file lives,
 * and its default file names. `settingsNames` makes them from one prefix; a host with other names (OpenCode)
 * writes its own table.
 */

export type Env = Readonly<Record<string, string | undefined>>

/** The environment variable of each setting. `noWebSearch` disables web search when truthy and always wins. */
export interface SettingsEnvNames {
  /** replaces the whole settings file path */
  readonly configFile: string
  readonly noWebSearch: string
  readonly webSockets: string
  readonly rawWebSocket: string
  readonly dump: string
  readonly dumpDir: string
  readonly codexApiEndpoint: string
  readonly issuer: string
  readonly usageEndpoint: string
  readonly codexVersion: string
  readonly logLevel: string
  readonly logFile: string
}

/** What a host names: its variables, where its settings file lives, and its default file names. */
export interface SettingsNames {
  readonly env: SettingsEnvNames
  /** the settings file when `env.configFile` is unset, from the environment and the home directory */
  readonly defaultConfigFile: (env: Env, homeDir: string) => string
  /** folder under the OS temp dir for request dumps, when `dumpDir` is unset */
  readonly dumpDirName: string
  /** file under the OS temp dir for the log, when the log file variable is unset */
  readonly logFileName: string
}

/** The names and the environment they are read from: everything a host hands to the settings. */
export interface SettingsSource {
  readonly names: SettingsNames
  readonly env: Env
}

/** The suffix of each variable under a host's prefix (`<PREFIX>_WEBSOCKETS`, ...). */
export const ENV_SUFFIXES: SettingsEnvNames = {
  configFile: "FILE",
  noWebSearch: "NO_WEB_SEARCH",
  webSockets: "WEBSOCKETS",
  rawWebSocket: "RAW_WS",
  dump: "DUMP",
  dumpDir: "DUMP_DIR",
  codexApiEndpoint: "CODEX_ENDPOINT",
  issuer: "ISSUER",
  usageEndpoint: "USAGE_ENDPOINT",
  codexVersion: "CODEX_VERSION",
  logLevel: "LOG_LEVEL",
  logFile: "LOG_FILE",
}

export const joinPath = (dir: string, name: string) => (dir.endsWith("/") ? `${dir}${name}` : `${dir}/${name}`)

export const expandHome = (path: string, homeDir: string) =>
  path === "~" ? homeDir : path.startsWith("~/") ? joinPath(homeDir, path.slice(2)) : path

/** A set, non-blank environment value, trimmed. Blank strings count as unset for non-boolean settings. */
export const envString = (env: Env, name: string): string | undefined => {
  const raw = env[name]
  if (raw === undefined) return undefined
  const trimmed = raw.trim()
  return trimmed === "" ? undefined : trimmed
}

export interface PrefixNamesOptions {
  /** e.g. `MYHOST_OPENAI_AUTH`: every variable is `<prefix>_<SUFFIX>` (see `ENV_SUFFIXES`) */
  readonly prefix: string
  /** the settings file; a leading `~/` is the home directory */
  readonly configFile: string
  /** default dump folder and log file names under the OS temp dir: `<tmpName>-dumps`, `<tmpName>.log` */
  readonly tmpName?: string
}

/** Settings names for a host that keeps every variable under one prefix. */
export const settingsNames = (options: PrefixNamesOptions): SettingsNames => {
  const env = Object.fromEntries(
    Object.entries(ENV_SUFFIXES).map(([field, suffix]) => [field, `${options.prefix}_${suffix}`]),
  ) as unknown as SettingsEnvNames
  const tmpName = options.tmpName ?? options.prefix.toLowerCase().replaceAll("_", "-")
  return {
    env,
    defaultConfigFile: (_env, homeDir) => expandHome(options.configFile, homeDir),
    dumpDirName: `${tmpName}-dumps`,
    logFileName: `${tmpName}.log`,
  }
}

/** The settings file: the `configFile` variable replaces the whole path, else the host's default. */
export const configPath = (source: SettingsSource, homeDir: string): string => {
  const explicit = envString(source.env, source.names.env.configFile)
  if (explicit !== undefined) return expandHome(explicit, homeDir)
  return source.names.defaultConfigFile(source.env, homeDir)
}
