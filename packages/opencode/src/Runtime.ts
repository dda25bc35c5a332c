/**
 * The one runtime behind the server entry: core, transports and accounts composed into a `ManagedRuntime`.
 * OpenCode only ever sees Promises: its own Effect version differs from ours, so no Effect value crosses the
 * plugin boundary.
 */
import { Commands } from "@cortexkit/openai-auth-accounts/Commands"
import { Credentials, type MainCredentials } from "@cortexkit/openai-auth-accounts/Credentials"
import { FileLock } from "@cortexkit/openai-auth-accounts/FileLock"
import { QuotaCache } from "@cortexkit/openai-auth-accounts/QuotaCache"
import { QuotaPoller } from "@cortexkit/openai-auth-accounts/QuotaPoller"
import { RoutedClient } from "@cortexkit/openai-auth-accounts/RoutedClient"
import { StateFile } from "@cortexkit/openai-auth-accounts/StateFile"
import { Store } from "@cortexkit/openai-auth-accounts/Store"
import { CallbackServer } from "@cortexkit/openai-auth-core/CallbackServer"
import { DeviceFlow } from "@cortexkit/openai-auth-core/DeviceFlow"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Http } from "@cortexkit/openai-auth-core/Http"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { IssuerFromSettings } from "@cortexkit/openai-auth-core/OAuth"
import { type Env, Settings } from "@cortexkit/openai-auth-core/Settings"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { Transports } from "@cortexkit/openai-auth-transports/Transports"
import { Effect, Layer, ManagedRuntime } from "effect"
import { Dumps } from "./Dumps.ts"
import { LiveSettings } from "./LiveSettings.ts"

export const pluginLayer = (env: Env, main: Layer.Layer<MainCredentials>) => {
  const base = Layer.mergeAll(FileLock.layer, main, Logger.layer).pipe(
    Layer.provideMerge(Settings.layerFromEnvironment),
    Layer.provideMerge(Files.layer),
  )
  const store = Store.layer.pipe(Layer.provideMerge(base))
  const tokens = TokenClient.layer.pipe(Layer.provideMerge(IssuerFromSettings), Layer.provideMerge(store))
  const credentials = Credentials.layer.pipe(Layer.provideMerge(tokens))
  const quota = QuotaPoller.layer.pipe(
    Layer.provideMerge(QuotaCache.layer),
    Layer.provideMerge(Http.layer),
    Layer.provideMerge(credentials),
  )
  const routed = RoutedClient.layer.pipe(Layer.provideMerge(Transports.layer), Layer.provideMerge(quota))
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
  return Layer.mergeAll(Commands.layer, StateFile.layer, DeviceFlow.layer, CallbackServer.layer).pipe(
    Layer.provideMerge(dumps),
  )
}

export type PluginServices = Layer.Success<ReturnType<typeof pluginLayer>>

export const makeRuntime = (env: Env, main: Layer.Layer<MainCredentials>) =>
  ManagedRuntime.make(pluginLayer(env, main) as Layer.Layer<PluginServices, unknown>)

export type PluginRuntime = ReturnType<typeof makeRuntime>
