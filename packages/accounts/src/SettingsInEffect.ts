/**
 * What a setting is in effect, not only what the file says: an environment variable beats the file
 * (`CORTEXKIT_OPENAI_AUTH_DUMP=1` keeps dumps on whatever `/openai-dump off` wrote). The host provides the
 * environment it resolves its settings with, so a command can say which variable wins; a host that provides
 * none gets the file's values.
 */
import { homedir, tmpdir } from "node:os"
import { type Env, EnvVars, type ResolvedSettings, resolveSettings } from "@cortexkit/openai-auth-core/Settings"
import { Context, Effect, Result } from "effect"
import type { StoreDocument } from "./StoreSchema.ts"

export const SettingsEnv = Context.Reference<Env | undefined>("@cortexkit/openai-auth-accounts/SettingsEnv", {
  defaultValue: () => undefined,
})

export interface InEffect<A> {
  readonly value: A
  /** `NAME=value` of the environment variable that overrides the file, when one does */
  readonly overriddenBy?: string | undefined
}

const resolved = (doc: StoreDocument): Effect.Effect<{ env: Env; settings: ResolvedSettings } | undefined> =>
  Effect.gen(function* () {
    const env = yield* SettingsEnv
    if (env === undefined) return undefined
    const result = resolveSettings(env, doc, { tmpDir: tmpdir(), homeDir: homedir() })
    return Result.isSuccess(result) ? { env, settings: result.success } : undefined
  })

const inEffect = <A>(doc: StoreDocument, fromFile: A, field: "dump" | "logLevel", variable: string) =>
  Effect.map(resolved(doc), (r): InEffect<A> => {
    const value = (r?.settings[field] ?? fromFile) as A
    return value === fromFile ? { value } : { value, overriddenBy: `${variable}=${r?.env[variable] ?? ""}` }
  })

/** request dumps as they are in effect, given the file's `dump` */
export const dumpInEffect = (doc: StoreDocument, fromFile: boolean) => inEffect(doc, fromFile, "dump", EnvVars.dump)

/** the log level in effect, given the file's level (or the default) */
export const logLevelInEffect = (doc: StoreDocument, fromFile: string) =>
  inEffect(doc, fromFile, "logLevel", EnvVars.logLevel)
