/**
 * OpenCode's side of the host contract: the identity the backend sees and the names of the settings
 * (README.md, "Configuration"). The libraries know none of these; the plugin, the CLI and the
 * TUI hand them over.
 */
import type { HostIdentity } from "@cortexkit/openai-auth-core/HostIdentity"
import {
  type Env,
  envString,
  expandHome,
  joinPath,
  type SettingsNames,
  type SettingsSource,
  settingsNames,
} from "@cortexkit/openai-auth-core/Settings"

/** What OpenCode's own Codex hook sends (OpenCode 1.18.33's built-in `codex` plugin); OpenCode's requests carry their own User-Agent. */
export const OPENCODE_IDENTITY: HostIdentity = {
  originator: "opencode",
  userAgent: "opencode/1.18.33",
  mainLogin: { host: "OpenCode", command: "/login openai" },
}

const SETTINGS_FILE = "openai-auth.json"

/** `<config dir>/openai-auth.json`: `$OPENCODE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/opencode`, else `~/.config/opencode`. */
export const openCodeConfigFile = (env: Env, homeDir: string): string => {
  const configDir = envString(env, "OPENCODE_CONFIG_DIR")
  if (configDir !== undefined) return joinPath(expandHome(configDir, homeDir), SETTINGS_FILE)
  const xdg = envString(env, "XDG_CONFIG_HOME")
  const base =
    xdg !== undefined ? joinPath(expandHome(xdg, homeDir), "opencode") : joinPath(homeDir, ".config/opencode")
  return joinPath(base, SETTINGS_FILE)
}

const shared = settingsNames({ prefix: "CORTEXKIT_OPENAI_AUTH", configFile: `~/.config/opencode/${SETTINGS_FILE}` })

/** `CORTEXKIT_OPENAI_AUTH_*` for the behaviour switches, `OPENCODE_OPENAI_AUTH_*` for files and logging. */
export const OPENCODE_SETTINGS: SettingsNames = {
  env: {
    ...shared.env,
    configFile: "OPENCODE_OPENAI_AUTH_FILE",
    dumpDir: "OPENCODE_OPENAI_AUTH_DUMP_DIR",
    logLevel: "OPENCODE_OPENAI_AUTH_LOG_LEVEL",
    logFile: "OPENCODE_OPENAI_AUTH_LOG_FILE",
  },
  defaultConfigFile: openCodeConfigFile,
  dumpDirName: "opencode-openai-auth-dumps",
  logFileName: "opencode-openai-auth.log",
}

/** OpenCode's settings names over `env` (the process environment unless a test gives its own). */
export const openCodeSettings = (env: Env = process.env): SettingsSource => ({ names: OPENCODE_SETTINGS, env })
