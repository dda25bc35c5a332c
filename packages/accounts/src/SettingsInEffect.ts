/**
 * What a setting is in effect, not only what the file says: an environment variable beats the file
 * (`CORTEXKIT_OPENAI_AUTH_DUMP=1` keeps dumps on whatever `/openai-dump off` wrote). The host provides the
 * settings source it resolves with (its variable names and environment), so a command can say which variable
 * wins; a host that provides none gets the file's values.
 */
import {
  machineDefaults,
  type ResolvedSettings,
  type SettingsSource,
  settingsFrom,
} from "@cortexkit/openai-auth-core/Settings"
import { Context, Effect } from "effect"
import type { StoreDocument } from "./StoreSchema.ts"

export const SettingsSourceRef = Context.Reference<SettingsSource | undefined>(
  "@cortexkit/openai-auth-accounts/SettingsSourceRef",
  { defaultValue: () => undefined },
)

export interface InEffect<A> {
  readonly value: A
  /** `NAME=value` of the environment variable that overrides the file, when one does */
  readonly overriddenBy?: string | undefined
}

const resolved = (
  doc: StoreDocument,
): Effect.Effect<{ readonly source: SettingsSource; readonly settings: ResolvedSettings } | undefined> =>
  Effect.gen(function* () {
    const source = yield* SettingsSourceRef
    if (source === undefined) return undefined
    const settings = yield* settingsFrom(source, doc, machineDefaults()).pipe(Effect.orElseSucceed(() => undefined))
    return settings === undefined ? undefined : { source, settings }
  })

const inEffect = <A>(doc: StoreDocument, fromFile: A, field: "dump" | "logLevel") =>
  Effect.map(resolved(doc), (r): InEffect<A> => {
    if (r === undefined) return { value: fromFile }
    const value = r.settings[field] as A
    if (value === fromFile) return { value }
    const name = r.source.names.env[field]
    return { value, overriddenBy: `${name}=${r.source.env[name] ?? ""}` }
  })

/** request dumps as they are in effect, given the file's `dump` */
export const dumpInEffect = (doc: StoreDocument, fromFile: boolean) => inEffect(doc, fromFile, "dump")

/** the log level in effect, given the file's level (or the default) */
export const logLevelInEffect = (doc: StoreDocument, fromFile: string) => inEffect(doc, fromFile, "logLevel")
