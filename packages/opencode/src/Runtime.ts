/**
 * The one runtime behind the server entry: the host-agnostic client services (accounts' `clientServices`:
 * settings, store, credentials, quota, transports, the routed client) under OpenCode's names and identity,
 * plus what only the plugin has: request dumps and keep-warm. OpenCode only ever sees Promises: its own
 * Effect version differs from ours, so no Effect value crosses the plugin boundary.
 */
import { clientServices } from "@cortexkit/openai-auth-accounts/ClientServices"
import type { MainCredentials } from "@cortexkit/openai-auth-accounts/Credentials"
import { dumpsLayer } from "@cortexkit/openai-auth-accounts/DumpHook"
import type { Env } from "@cortexkit/openai-auth-core/Settings"
import { Layer, ManagedRuntime } from "effect"
import { OPENCODE_IDENTITY, openCodeSettings } from "./OpenCodeHost.ts"
import { WarmerLayer } from "./Warmer.ts"

export const pluginLayer = (env: Env, main: Layer.Layer<MainCredentials>) => {
  // a bad config file must not take the plugin down: LiveSettings reports it on every request instead
  const client = clientServices({
    identity: OPENCODE_IDENTITY,
    settings: openCodeSettings(env),
    main,
    ignoreBadFile: true,
  })
  const dumps = dumpsLayer(openCodeSettings(env)).pipe(Layer.provideMerge(client))
  return WarmerLayer.pipe(Layer.provideMerge(dumps))
}

export type PluginServices = Layer.Success<ReturnType<typeof pluginLayer>>

export const makeRuntime = (env: Env, main: Layer.Layer<MainCredentials>) =>
  ManagedRuntime.make(pluginLayer(env, main) as Layer.Layer<PluginServices, unknown>)

export type PluginRuntime = ReturnType<typeof makeRuntime>
