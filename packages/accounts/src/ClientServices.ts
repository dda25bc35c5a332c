/**
 * Everything a host's request path needs, composed once from what the host gives: its identity, its
 * settings names (and the environment they are read from) and the store of its main account. This is the
 * host-agnostic half of a plugin runtime: the OpenCode plugin adds its dumps and keep-warm on top, the
 * Promise facade (`CodexClient`) wraps it in a `ManagedRuntime`, and an Effect host provides it directly.
 */
import type { Files } from "@cortexkit/openai-auth-core/Files"
import { HostIdentity } from "@cortexkit/openai-auth-core/HostIdentity"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { Settings, type SettingsSource } from "@cortexkit/openai-auth-core/Settings"
import { Transports } from "@cortexkit/openai-auth-transports/Transports"
import { Layer } from "effect"
import { accountServices } from "./AccountServices.ts"
import type { MainCredentials } from "./CredentialsContract.ts"
import { LiveSettings } from "./LiveSettings.ts"
import { RoutedClient } from "./RoutedClient.ts"
import { SettingsSourceRef } from "./SettingsInEffect.ts"

export interface ClientServicesOptions<E> {
  readonly identity: HostIdentity
  readonly settings: SettingsSource
  /** where the main account's tokens live (the host's own login store) */
  readonly main: Layer.Layer<MainCredentials, E, Files>
  /**
   * A long-running host keeps serving when the settings file cannot be read or holds a bad value (with the
   * environment and the defaults; the problem is logged on every request until it is fixed). A one-shot tool
   * should fail instead: `false`.
   */
  readonly ignoreBadFile?: boolean
}

/** Settings, store, credentials, quota, state file, logger, transports, the routed client and live settings. */
export const clientServices = <E>(options: ClientServicesOptions<E>) => {
  const settings = Settings.layerFrom(options.settings, { ignoreBadFile: options.ignoreBadFile ?? true })
  const accounts = accountServices(Layer.merge(options.main, Logger.layer), settings)
  const routed = RoutedClient.layer.pipe(Layer.provideMerge(Transports.layer), Layer.provideMerge(accounts))
  return LiveSettings.layerWith(options.settings).pipe(
    Layer.provideMerge(routed),
    // read by the services that name the host on the wire (routed client, quota poller, device login)
    Layer.provideMerge(Layer.succeed(HostIdentity, options.identity)),
    // commands say which environment variable overrides the file (`/openai-dump` with the dump variable set)
    Layer.provideMerge(Layer.succeed(SettingsSourceRef, options.settings)),
  )
}

export type ClientServices = Layer.Success<ReturnType<typeof clientServices>>
