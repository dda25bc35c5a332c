/**
 * The services behind `openai-auth`: the same store, credentials, quota cache and command bodies the plugin
 * uses, with the main account read from OpenCode's `auth.json` and every URL taken from the settings.
 */
import { accountServices } from "@cortexkit/openai-auth-accounts/AccountServices"
import { commandServices } from "@cortexkit/openai-auth-accounts/CommandServices"
import { SettingsSourceRef } from "@cortexkit/openai-auth-accounts/SettingsInEffect"
import { HostIdentity } from "@cortexkit/openai-auth-core/HostIdentity"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import { Layer } from "effect"
import { HostAuthFile } from "../HostAuthFile.ts"
import { OPENCODE_IDENTITY, openCodeSettings } from "../OpenCodeHost.ts"

export type Env = Readonly<Record<string, string | undefined>>

// a CLI run is one command: the command bodies and login flows are built with the rest; what they log goes to
// the plugin's log file (never to the terminal, where the command's own output goes)
export const cliLayer = (env: Env) =>
  commandServices.pipe(
    Layer.provideMerge(
      accountServices(Layer.merge(HostAuthFile.layer(env), Logger.layer), Settings.layerFrom(openCodeSettings(env))),
    ),
    Layer.provideMerge(Layer.succeed(HostIdentity, OPENCODE_IDENTITY)),
    Layer.provideMerge(Layer.succeed(SettingsSourceRef, openCodeSettings(env))),
  )

export type CliServices = Layer.Success<ReturnType<typeof cliLayer>>
