/**
 * The main account for processes that run outside OpenCode (the CLI): OpenCode's own `auth.json`, read and
 * written directly (accounts' `MainAccountFile`, at OpenCode's path and under its `openai` entry).
 */
import { homedir } from "node:os"
import { join } from "node:path"
import type { MainCredentials } from "@cortexkit/openai-auth-accounts/Credentials"
import { MainAccountFile } from "@cortexkit/openai-auth-accounts/MainAccountFile"
import type { Files } from "@cortexkit/openai-auth-core/Files"
import type { Layer } from "effect"

export const PROVIDER_ID = "openai"

/** `$XDG_DATA_HOME/opencode/auth.json`, default `~/.local/share/opencode/auth.json` */
export const hostAuthPath = (env: Readonly<Record<string, string | undefined>>, home: string = homedir()): string => {
  const xdg = env.XDG_DATA_HOME?.trim()
  return join(xdg === undefined || xdg === "" ? join(home, ".local", "share") : xdg, "opencode", "auth.json")
}

const layerAt = (path: string): Layer.Layer<MainCredentials, never, Files> =>
  MainAccountFile.layer({ path, entry: PROVIDER_ID, label: "OpenCode's auth file" })

export const HostAuthFile = {
  layerAt,
  /** at OpenCode's default location for this environment */
  layer: (env: Readonly<Record<string, string | undefined>>) => layerAt(hostAuthPath(env)),
}
