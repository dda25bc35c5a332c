/**
 * Settings that follow the config file while OpenCode runs. The file is the store (`openai-auth.json`), read
 * with one stat per request and re-read only when it changed, so `/openai-dump on` or a hand edit takes
 * effect on the next request without a restart. Environment variables still win over the file.
 */

import { homedir, tmpdir } from "node:os"
import { Store } from "@cortexkit/openai-auth-accounts/Store"
import { emptyDocument, type StoreDocument } from "@cortexkit/openai-auth-accounts/StoreSchema"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { type Env, type ResolvedSettings, resolveSettings, Settings } from "@cortexkit/openai-auth-core/Settings"
import { Context, Effect, Layer, Result } from "effect"

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
>()("@cortexkit/opencode-openai-auth/LiveSettings") {
  static readonly layerWith = (env: Env) =>
    Layer.effect(
      LiveSettings,
      Effect.gen(function* () {
        const store = yield* Store
        const log = yield* Logger
        const startup = yield* Settings
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
          const resolved = resolveSettings(env, doc, { tmpDir: tmpdir(), homeDir: homedir() })
          if (Result.isFailure(resolved)) {
            return log
              .error("a setting in the config file is invalid; keeping the previous settings", {
                reason: resolved.failure.message,
              })
              .pipe(Effect.as(last?.settings ?? startup))
          }
          const previous = last?.settings ?? startup
          last = { doc, settings: resolved.success }
          // `/openai-logging` from the TUI or `openai-auth logging` from another terminal changes the file only:
          // the level follows it here, before the request that noticed the change logs anything
          const level = resolved.success.logLevel
          if (level === previous.logLevel) return Effect.succeed(resolved.success)
          return log.setLevel(level).pipe(
            // checked against the new level (a change down to warn is not worth an info line)
            Effect.andThen(Effect.suspend(() => log.info("log level changed", { level, from: previous.logLevel }))),
            Effect.as(resolved.success),
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
