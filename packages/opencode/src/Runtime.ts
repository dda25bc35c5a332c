/**
 * The one runtime behind the server entry: core, transports and accounts composed into a `ManagedRuntime`.
 * OpenCode only ever sees Promises: its own Effect version differs from ours, so no Effect value crosses the
 * plugin boundary.
 */
import { accountServices } from "@cortexkit/openai-auth-accounts/AccountServices"
import type { MainCredentials } from "@cortexkit/openai-auth-accounts/Credentials"
import { RoutedClient } from "@cortexkit/openai-auth-accounts/RoutedClient"
import { SettingsEnv } from "@cortexkit/openai-auth-accounts/SettingsInEffect"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { type Env, Settings } from "@cortexkit/openai-auth-core/Settings"
import { Transports } from "@cortexkit/openai-auth-transports/Transports"
import { Effect, Layer, ManagedRuntime } from "effect"
import { Dumps } from "./Dumps.ts"
import { LiveSettings } from "./LiveSettings.ts"
import { WarmerLayer } from "./Warmer.ts"

export const pluginLayer = (env: Env, main: Layer.Layer<MainCredentials>) => {
  // a bad config file must not take the plugin down: LiveSettings reports it on every request instead
  const accounts = accountServices(Layer.merge(main, Logger.layer), Settings.layerFrom(env, { ignoreBadFile: true }))
  const routed = RoutedClient.layer.pipe(Layer.provideMerge(Transports.layer), Layer.provideMerge(accounts))
  const live = LiveSettings.layerWith(env).pipe(Layer.provideMerge(routed))
  const dumps = Layer.effect(
    Dumps,
    Effect.gen(function* () {
      const settings = yield* LiveSettings
      const startup = yield* Settings
      return yield* Dumps.make({
        dumpDir: startup.dumpDir,
        enabled: Effect.map(settings.current, (s) => s.dump),
      })
    }),
  ).pipe(Layer.provideMerge(live))
  // commands say which environment variable overrides the file (`/openai-dump` with CORTEXKIT_OPENAI_AUTH_DUMP set)
  return WarmerLayer.pipe(Layer.provideMerge(dumps), Layer.provideMerge(Layer.succeed(SettingsEnv, env)))
}

export type PluginServices = Layer.Success<ReturnType<typeof pluginLayer>>

export const makeRuntime = (env: Env, main: Layer.Layer<MainCredentials>) =>
  ManagedRuntime.make(pluginLayer(env, main) as Layer.Layer<PluginServices, unknown>)

export type PluginRuntime = ReturnType<typeof makeRuntime>
