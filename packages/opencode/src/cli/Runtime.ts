/**
 * The services behind `openai-auth`: the same store, credentials, quota cache and command bodies the plugin
 * uses, with the main account read from OpenCode's `auth.json` and every URL taken from the settings.
 */
import { Commands } from "@cortexkit/openai-auth-accounts/Commands"
import { Credentials } from "@cortexkit/openai-auth-accounts/Credentials"
import { FileLock } from "@cortexkit/openai-auth-accounts/FileLock"
import { QuotaCache } from "@cortexkit/openai-auth-accounts/QuotaCache"
import { QuotaPoller } from "@cortexkit/openai-auth-accounts/QuotaPoller"
import { StateFile } from "@cortexkit/openai-auth-accounts/StateFile"
import { Store } from "@cortexkit/openai-auth-accounts/Store"
import { CallbackServer } from "@cortexkit/openai-auth-core/CallbackServer"
import { DeviceFlow } from "@cortexkit/openai-auth-core/DeviceFlow"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Http } from "@cortexkit/openai-auth-core/Http"
import { Issuer } from "@cortexkit/openai-auth-core/OAuth"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { Effect, Layer } from "effect"
import { HostAuthFile } from "../HostAuthFile.ts"

export type Env = Readonly<Record<string, string | undefined>>

/** token refreshes go to the configured issuer (a simulator or relay in tests), never a hard-coded host */
const IssuerFromSettings = Layer.effect(
  Issuer,
  Effect.gen(function* () {
    return (yield* Settings).issuer
  }),
)

export const cliLayer = (env: Env) => {
  const base = Layer.mergeAll(FileLock.layer, HostAuthFile.layer(env)).pipe(
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
  return Layer.mergeAll(Commands.layer, StateFile.layer, DeviceFlow.layer, CallbackServer.layer).pipe(
    Layer.provideMerge(quota),
  )
}

export type CliServices = Layer.Success<ReturnType<typeof cliLayer>>
