/**
 * The account services every host needs on its request path, composed once: settings, the store and its
 * lock, token refresh against the configured issuer, credentials, the quota cache and poller, the state file.
 * A host supplies its side (where the main account's tokens live, plus anything else it wants built on the
 * same settings and files, such as a logger) and adds its own request path on top. The command bodies and the
 * login flows are `commandServices` (CommandServices.ts), composed over this: a separate module, so the
 * server can load them only when a command or login runs.
 */
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Http } from "@cortexkit/openai-auth-core/Http"
import { IssuerFromSettings } from "@cortexkit/openai-auth-core/OAuth"
import type { Settings } from "@cortexkit/openai-auth-core/Settings"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { Layer } from "effect"
import { Credentials, type MainCredentials } from "./Credentials.ts"
import { FileLock } from "./FileLock.ts"
import { QuotaCache } from "./QuotaCache.ts"
import { QuotaPoller } from "./QuotaPoller.ts"
import { StateFile } from "./StateFile.ts"
import { Store } from "./Store.ts"

/**
 * `host` must provide `MainCredentials`; whatever else it provides is passed through to the caller.
 * `settings` is the host's (`Settings.layerFrom` with its names and environment).
 */
export const accountServices = <H, E, SE>(
  host: Layer.Layer<H | MainCredentials, E, Files | Settings>,
  settings: Layer.Layer<Settings, SE, Files>,
) => {
  const base = Layer.mergeAll(FileLock.layer, host).pipe(Layer.provideMerge(settings), Layer.provideMerge(Files.layer))
  const store = Store.layer.pipe(Layer.provideMerge(base))
  const tokens = TokenClient.layer.pipe(Layer.provideMerge(IssuerFromSettings), Layer.provideMerge(store))
  const credentials = Credentials.layer.pipe(Layer.provideMerge(tokens))
  const quota = QuotaPoller.layer.pipe(
    Layer.provideMerge(QuotaCache.layer),
    Layer.provideMerge(Http.layer),
    Layer.provideMerge(credentials),
  )
  return StateFile.layer.pipe(Layer.provideMerge(quota))
}
