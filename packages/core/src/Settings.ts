/**
 * Settings: environment over the settings file over defaults, under the names the host gives
 * (`SettingsSource`; OpenCode's are in README.md "Configuration", other hosts' in docs/hosts.md). Resolution
 * is `settingsFrom` (internal/settings-resolve.ts); the service only gathers its inputs once at layer build.
 */
import { homedir, tmpdir } from "node:os"
import { Context, Effect, Layer, Option } from "effect"
import { Files } from "./Files.ts"
import {
  configPath,
  type ResolvedSettings,
  type SettingsDefaults,
  SettingsError,
  type SettingsSource,
  settingsFrom,
} from "./internal/settings-resolve.ts"

export {
  configPath,
  DEFAULT_CODEX_ENDPOINT,
  DEFAULT_ISSUER,
  DEFAULT_USAGE_ENDPOINT,
  ENV_SUFFIXES,
  type Env,
  envString,
  expandHome,
  isLogLevel,
  joinPath,
  LogLevel,
  LogLevels,
  optionalFileFields,
  type PrefixNamesOptions,
  parseBoolean,
  type ResolvedSettings,
  resolveSettings,
  type SettingsDefaults,
  type SettingsEnvNames,
  SettingsError,
  type SettingsNames,
  type SettingsSource,
  settingsFrom,
  settingsNames,
  wsUrlFor,
} from "./internal/settings-resolve.ts"

/** The machine's directories the defaults are made of. */
export const machineDefaults = (): SettingsDefaults => ({ tmpDir: tmpdir(), homeDir: homedir() })

const parseJson = (path: string, text: string) =>
  Effect.try({
    try: (): unknown => JSON.parse(text),
    catch: (error) =>
      new SettingsError({
        message: `config file ${path} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
        key: "<file>",
        path,
      }),
  })

/**
 * Reads the settings file the source names through Files and resolves against it. A missing or blank file
 * is simply "no file settings"; unreadable or malformed content is a SettingsError carrying the path.
 */
export const loadSettings = Effect.fn("Settings.load")(function* (source: SettingsSource, defaults: SettingsDefaults) {
  const files = yield* Files
  const path = configPath(source, defaults.homeDir)
  const text = yield* files
    .readText(path)
    .pipe(
      Effect.mapError(
        (error) =>
          new SettingsError({ message: `cannot read config file ${path}: ${error.message}`, key: "<file>", path }),
      ),
    )
  const content = Option.getOrUndefined(text)
  const file = content === undefined || content.trim() === "" ? undefined : yield* parseJson(path, content)
  return yield* settingsFrom(source, file, defaults).pipe(
    Effect.mapError(({ message, key, value }) => new SettingsError({ message, key, value, path })),
  )
})

export interface SettingsFromOptions {
  /**
   * A config file that cannot be read or holds a bad value does not stop a long-running host: it gets the
   * environment and the defaults, and reports the file's problem elsewhere (the plugin logs it on every
   * request until it is fixed). A command-line tool should fail instead, naming the file and the key.
   */
  readonly ignoreBadFile?: boolean
}

export class Settings extends Context.Service<Settings, ResolvedSettings>()("@cortexkit/openai-auth-core/Settings") {
  /** the source's environment + the settings file it names, read once when the layer is built */
  static readonly layerFrom = (
    source: SettingsSource,
    options: SettingsFromOptions = {},
  ): Layer.Layer<Settings, SettingsError, Files> =>
    Layer.effect(
      Settings,
      Effect.suspend(() => {
        const defaults = machineDefaults()
        const load = loadSettings(source, defaults)
        if (options.ignoreBadFile !== true) return load
        return load.pipe(
          Effect.catch((error) =>
            error.path === undefined ? Effect.fail(error) : settingsFrom(source, undefined, defaults),
          ),
        )
      }).pipe(Effect.map((resolved) => Settings.of(resolved))),
    )

  /** fixed settings, for tests and for hosts that resolved them already */
  static readonly layer = (resolved: ResolvedSettings): Layer.Layer<Settings> =>
    Layer.succeed(Settings, Settings.of(resolved))
}
