/**
 * Settings that follow the settings file while the host runs. The file is the store (`openai-auth.json`),
 * read with one stat per request and re-read only when it changed, so a command (`/openai-dump on`, a
 * facade's `setRouting`) or a hand edit takes effect on the next request without a restart. Environment
 * variables still win over the file.
 */

import { Logger } from "@cortexkit/openai-auth-core/Logger"
import {
  machineDefaults,
  type ResolvedSettings,
  Settings,
  type SettingsSource,
  settingsFrom,
} from "@cortexkit/openai-auth-core/Settings"
import { Context, Effect, Layer } from "effect"
import { Store } from "./Store.ts"
import { emptyDocument, type StoreDocument } from "./StoreSchema.ts"

export interface LiveSnapshot {
  readonly settings: ResolvedSettings
  readonly document: StoreDocument
}

export class LiveSettings extends Context.Service<
  LiveSettings,
  {
    readonly current: Effect.Effect<ResolvedSettings>
    readonly document: Effect.Effect<StoreDocument>
    /** both from one read of the store (the request path passes the document on to the routed client) */
    readonly snapshot: Effect.Effect<LiveSnapshot>
  }
>()("@cortexkit/openai-auth-accounts/LiveSettings") {
  static readonly layerWith = (source: SettingsSource) =>
    Layer.effect(
      LiveSettings,
      Effect.gen(function* () {
        const store = yield* Store
        const log = yield* Logger
        const startup = yield* Settings
        const defaults = machineDefaults()
        let last: { readonly doc: StoreDocument; readonly settings: ResolvedSettings } | undefined
        let reported: string | undefined

        const document = store.read.pipe(
          Effect.catch((error) =>
            Effect.gen(function* () {
              if (reported !== error.message) {
                reported = error.message
                yield* log.error("the config file cannot be read; serving the main account with defaults", {
                  reason: error.message,
                })
              }
              return emptyDocument()
            }),
          ),
        )

        const settingsOf = (doc: StoreDocument): Effect.Effect<ResolvedSettings> => {
          if (last !== undefined && last.doc === doc) return Effect.succeed(last.settings)
          return settingsFrom(source, doc, defaults).pipe(
            Effect.tap((settings) => {
              const previous = last?.settings ?? startup
              last = { doc, settings }
              // `/openai-logging` from the TUI or `openai-auth logging` from another terminal changes the file
              // only: the level follows it here, before the request that noticed the change logs anything
              const level = settings.logLevel
              if (level === previous.logLevel) return Effect.void
              return log.setLevel(level).pipe(
                // checked against the new level (a change down to warn is not worth an info line)
                Effect.andThen(Effect.suspend(() => log.info("log level changed", { level, from: previous.logLevel }))),
              )
            }),
            Effect.catch((error) =>
              log
                .error("a setting in the config file is invalid; keeping the previous settings", {
                  reason: error.message,
                })
                .pipe(Effect.as(last?.settings ?? startup)),
            ),
          )
        }

        const current = Effect.flatMap(document, settingsOf)
        const snapshot = Effect.flatMap(document, (doc) =>
          Effect.map(settingsOf(doc), (settings): LiveSnapshot => ({ settings, document: doc })),
        )

        return LiveSettings.of({ current, document, snapshot })
      }),
    )
}
