/**
 * The services behind `openai-auth`: the same store, credentials, quota cache and command bodies the plugin
 * uses, with the main account read from the host's `auth.json` (OpenCode's, or Pi's with `--host pi`) and
 * every URL taken from the settings.
 */
import { accountServices } from "@cortexkit/openai-auth-accounts/AccountServices"
import { commandServices } from "@cortexkit/openai-auth-accounts/CommandServices"
import { SettingsSourceRef } from "@cortexkit/openai-auth-accounts/SettingsInEffect"
import { HostIdentity } from "@cortexkit/openai-auth-core/HostIdentity"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import { Layer } from "effect"
import { cliHost } from "./Hosts.ts"

export type Env = Readonly<Record<string, string | undefined>>

// a CLI run is one command: the command bodies and login flows are built with the rest; what they log goes to
// the host's log file (never to the terminal, where the command's own output goes)
export const cliLayer = (env: Env) => {
  const host = cliHost(env)
  return commandServices.pipe(
    Layer.provideMerge(accountServices(Layer.merge(host.main, Logger.layer), Settings.layerFrom(host.settings))),
    Layer.provideMerge(Layer.succeed(HostIdentity, host.identity)),
    Layer.provideMerge(Layer.succeed(SettingsSourceRef, host.settings)),
  )
}

export type CliServices = Layer.Success<ReturnType<typeof cliLayer>>
