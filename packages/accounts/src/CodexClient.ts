/**
 * The Promise facade for hosts that do not use Effect: `createCodexClient(options)` gives a `fetch` any
 * OpenAI Responses client can use (the AI SDK, openai-node), logins, accounts, quota, routing and
 * killswitch, and `dispose()`. One `ManagedRuntime` inside; no Effect value crosses the boundary, so the
 * host needs no Effect code of its own. Effect hosts take `clientServices` and the request path
 * (`RequestPath.makeFetch`) instead; the OpenCode plugin builds its client with `makeCodexClient`
 * (RuntimeClient.ts) over its own runtime, adding its dumps and keep-warm as request hooks.
 */
import { homedir } from "node:os"
import { dirname, join } from "node:path"
import { configPath, type SettingsSource, settingsNames } from "@cortexkit/openai-auth-core/Settings"
import { Effect, ManagedRuntime } from "effect"
import { clientServices } from "./ClientServices.ts"
import type { CodexClient, CodexClientOptions } from "./CodexClientTypes.ts"
import { MainAccountFile } from "./MainAccountFile.ts"
import { mainAccountLayer, makeCodexClient } from "./RuntimeClient.ts"

export type * from "./CodexClientTypes.ts"
export { mainAccountLayer, makeCodexClient }

const MAIN_FILE = "openai-auth-main.json"

/** The runtime's layer for `options`: `clientServices` with the main account where the options say. */
export const codexClientLayer = (options: CodexClientOptions) => {
  const names = "env" in options.settings ? options.settings : settingsNames(options.settings)
  const source: SettingsSource = { names, env: options.env ?? process.env }
  const main = options.mainAccount ?? { file: join(dirname(configPath(source, homedir())), MAIN_FILE) }
  return clientServices({
    identity: { originator: options.originator, userAgent: options.userAgent },
    settings: source,
    main:
      "file" in main
        ? MainAccountFile.layer({ path: main.file, entry: main.entry ?? "openai", label: "the main account file" })
        : mainAccountLayer(main),
    ignoreBadFile: options.strictSettings !== true,
  })
}

/** A client for a host that does not use Effect; see `CodexClientOptions`. */
export const createCodexClient = (options: CodexClientOptions): CodexClient => {
  const onServed = options.onServed
  return makeCodexClient(
    ManagedRuntime.make(codexClientLayer(options)),
    onServed === undefined
      ? {}
      : {
          served: ({ routed, host }) =>
            Effect.sync(() => {
              onServed({
                account: routed.account,
                attempts: routed.attempts,
                transport: routed.response.transport,
                model: host.body.model,
              })
              return undefined
            }),
        },
  )
}
