/**
 * The services behind `openai-auth`: the same store, credentials, quota cache and command bodies the plugin
 * uses, with the main account read from OpenCode's `auth.json` and every URL taken from the settings.
 */
import { accountServices } from "@cortexkit/openai-auth-accounts/AccountServices"
import { commandServices } from "@cortexkit/openai-auth-accounts/CommandServices"
import { HostIdentity } from "@cortexkit/openai-auth-core/HostIdentity"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import { Layer } from "effect"
import { HostAuthFile } from "../HostAuthFile.ts"
import { OPENCODE_IDENTITY, openCodeSettings } from "../OpenCodeHost.ts"

export type Env = Readonly<Record<string, string | undefined>>

// a CLI run is one command: the command bodies and login flows are built with the rest
export const cliLayer = (env: Env) =>
  commandServices.pipe(
    Layer.provideMerge(accountServices(HostAuthFile.layer(env), Settings.layerFrom(openCodeSettings(env)))),
    Layer.provideMerge(Layer.succeed(HostIdentity, OPENCODE_IDENTITY)),
  )

export type CliServices = Layer.Success<ReturnType<typeof cliLayer>>
