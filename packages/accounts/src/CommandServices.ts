/**
 * What only account commands and logins use, kept apart from `accountServices` (the request path): the
 * command bodies and the two login flows. Built over `accountServices`, whose store, HTTP client and token
 * client they share. The CLI composes both up front; the server loads this module with `import()` on the
 * first command or login, so the first request neither loads nor builds it (docs/performance.md, start).
 */
import { CallbackServer } from "@cortexkit/openai-auth-core/CallbackServer"
import { DeviceFlow } from "@cortexkit/openai-auth-core/DeviceFlow"
import type { Http } from "@cortexkit/openai-auth-core/Http"
import type { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { Layer } from "effect"
import { Commands } from "./Commands.ts"
import type { Store } from "./Store.ts"

export const commandServices: Layer.Layer<Commands | DeviceFlow | CallbackServer, never, Store | Http | TokenClient> =
  Layer.mergeAll(Commands.layer, DeviceFlow.layerNoDeps, CallbackServer.layer)
