/**
 * Whose accounts `openai-auth` manages: the OpenCode plugin's (the default) or the Pi extension's
 * (`--host pi` anywhere on the command line, or `OPENAI_AUTH_HOST=pi`). A host is where its store lives (its
 * settings names), the port of its main account and its identity. Pi's main account is Pi's `auth.json`
 * under Pi's own lock, never a plain file port: Pi refreshes under that lock, and a refresh outside it could
 * spend the refresh token Pi is spending.
 */
import type { MainCredentials } from "@cortexkit/openai-auth-accounts/CredentialsContract"
import type { Files } from "@cortexkit/openai-auth-core/Files"
import type { HostIdentity } from "@cortexkit/openai-auth-core/HostIdentity"
import type { Env, SettingsSource } from "@cortexkit/openai-auth-core/Settings"
import { PiAuthFile } from "@cortexkit/pi-openai-auth/AuthFile"
import { authPath, piIdentity, piSettings } from "@cortexkit/pi-openai-auth/PiHost"
import type { Layer } from "effect"
import { HostAuthFile } from "../HostAuthFile.ts"
import { OPENCODE_IDENTITY, openCodeSettings } from "../OpenCodeHost.ts"

export const HOST_VARIABLE = "OPENAI_AUTH_HOST"
export const HOSTS = ["opencode", "pi"] as const
export type HostName = (typeof HOSTS)[number]

export interface CliHost {
  readonly identity: HostIdentity
  readonly settings: SettingsSource
  readonly main: Layer.Layer<MainCredentials, never, Files>
}

const isHost = (name: string): name is HostName => (HOSTS as ReadonlyArray<string>).includes(name)

/** The host `env` names (`OPENAI_AUTH_HOST`, default OpenCode); `takeHostFlag` has refused any other value. */
export const cliHost = (env: Env): CliHost =>
  env[HOST_VARIABLE]?.trim() === "pi"
    ? { identity: piIdentity(), settings: piSettings(env), main: PiAuthFile.layerAt(authPath(env)) }
    : { identity: OPENCODE_IDENTITY, settings: openCodeSettings(env), main: HostAuthFile.layer(env) }

export type HostChoice =
  | { readonly ok: true; readonly argv: ReadonlyArray<string>; readonly env: Env }
  | { readonly ok: false; readonly error: string }

const refused = (value: string): HostChoice => ({
  ok: false,
  error: `unknown host "${value}" (--host or ${HOST_VARIABLE}: ${HOSTS.join(" or ")})`,
})

/** `--host <name>` or `--host=<name>` taken out of `argv` and kept in the run's environment. */
export const takeHostFlag = (argv: ReadonlyArray<string>, env: Env): HostChoice => {
  const rest: Array<string> = []
  let chosen = env[HOST_VARIABLE]?.trim() || undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg !== "--host" && !arg.startsWith("--host=")) {
      rest.push(arg)
      continue
    }
    const value = arg === "--host" ? argv[++i] : arg.slice("--host=".length)
    if (value === undefined || value === "" || value.startsWith("-")) return { ok: false, error: "--host needs a name" }
    chosen = value
  }
  if (chosen !== undefined && !isHost(chosen)) return refused(chosen)
  return { ok: true, argv: rest, env: chosen === undefined ? env : { ...env, [HOST_VARIABLE]: chosen } }
}
