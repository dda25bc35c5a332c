/**
 * Plugin settings: environment over `openai-auth.json` over defaults (table in shared/spec/interface.md).
 * Resolution itself is the pure `resolveSettings`; the service only gathers its inputs once at layer build.
 */
import { homedir, tmpdir } from "node:os"
import { Context, Effect, Layer, Option, Result } from "effect"
import { Files } from "./Files.ts"
import {
  configPath,
  type Env,
  type ResolvedSettings,
  resolveSettings,
  SettingsError,
} from "./internal/settings-resolve.ts"

export {
  configPath,
  DEFAULT_CODEX_ENDPOINT,
  DEFAULT_ISSUER,
  DEFAULT_USAGE_ENDPOINT,
  type Env,
  EnvVars,
  isLogLevel,
  LogLevel,
  LogLevels,
  optionalFileFields,
  parseBoolean,
  type ResolvedSettings,
  resolveSettings,
  type SettingsDefaults,
  SettingsError,
  wsUrlFor,
} from "./internal/settings-resolve.ts"

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
 * Reads the config file named by `env` through Files and resolves against it. A missing or blank file is
 * simply "no file settings"; unreadable or malformed content is a SettingsError carrying the path.
 */
export const loadSettings = Effect.fn("Settings.load")(function* (
  env: Env,
  defaults: { readonly tmpDir: string; readonly homeDir: string },
) {
  const files = yield* Files
  const path = configPath(env, defaults.homeDir)
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
  const resolved = resolveSettings(env, file, defaults)
  if (Result.isFailure(resolved)) {
    const { message, key, value } = resolved.failure
    return yield* new SettingsError({ message, key, value, path })
  }
  return resolved.success
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
  /** `env` + the config file it names, read once when the layer is built */
  static readonly layerFrom = (
    env: Env,
    options: SettingsFromOptions = {},
  ): Layer.Layer<Settings, SettingsError, Files> =>
    Layer.effect(
      Settings,
      Effect.suspend(() => {
        const defaults = { tmpDir: tmpdir(), homeDir: homedir() }
        const load = loadSettings(env, defaults)
        if (options.ignoreBadFile !== true) return load
        return load.pipe(
          Effect.catch((error) =>
            error.path === undefined
              ? Effect.fail(error)
              : Effect.fromResult(resolveSettings(env, undefined, defaults)).pipe(
                  Effect.mapError(({ message, key, value }) => new SettingsError({ message, key, value })),
                ),
          ),
        )
      }).pipe(Effect.map((resolved) => Settings.of(resolved))),
    )

  /** the process environment + the config file, read once when the layer is built */
  static readonly layerFromEnvironment: Layer.Layer<Settings, SettingsError, Files> = Layer.suspend(() =>
    Settings.layerFrom({ ...process.env }),
  )

  /** fixed settings, for tests and for hosts that resolved them already */
  static readonly layer = (resolved: ResolvedSettings): Layer.Layer<Settings> =>
    Layer.succeed(Settings, Settings.of(resolved))
}
