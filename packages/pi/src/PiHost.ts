/**
 * What the Pi coding agent is as a host, as plain data: where it keeps its files, the provider id whose
 * login is our main account, its identity on the wire and the names of our settings in Pi. Pure, so the
 * `openai-auth` CLI (which runs outside Pi, `--host pi`) and the tests derive the same paths as the
 * extension. Facts are from `@earendil-works/pi-coding-agent` 1.6.0 (docs/pi.md).
 */
import { homedir } from "node:os"
import type { HostIdentity } from "@cortexkit/openai-auth-core/HostIdentity"
import {
  configPath,
  type Env,
  envString,
  expandHome,
  joinPath,
  type SettingsNames,
  type SettingsSource,
  settingsNames,
} from "@cortexkit/openai-auth-core/Settings"

export type { Env }

/** The built-in ChatGPT provider: `/login openai-codex` stores its tokens under this key of `auth.json`. */
export const PROVIDER_ID = "openai-codex"
/** The built-in provider's api; our stream serves exactly the models on it. */
export const PROVIDER_API = "openai-codex-responses"
/** Codex expects an originator on every request; Pi's own is `pi` (pi-ai openai-codex-responses.js). */
export const ORIGINATOR = "pi"
/** The key our quota takes in Pi's status line. */
export const STATUS_KEY = "openai-auth"

/**
 * Pi's identity. Pi's requests carry its own `User-Agent` (`pi/<version> (<platform>; <runtime>; <arch>)`,
 * pi-ai utils/identity.js `formatUserAgent`); ours, on logins and usage polls, is made the same way. Without
 * a version (a tool outside Pi) it is Pi's short form, `pi`.
 */
export const piIdentity = (version?: string): HostIdentity => {
  const mainLogin = { host: "Pi", command: `/login ${PROVIDER_ID}` }
  if (version === undefined) return { originator: ORIGINATOR, userAgent: "pi", mainLogin }
  const runtime =
    typeof process.versions.bun === "string" ? `bun/${process.versions.bun}` : `node/${process.versions.node}`
  const userAgent = `pi/${version} (${process.platform}; ${runtime}; ${process.arch})`
  return { originator: ORIGINATOR, userAgent, mainLogin }
}

/** `$PI_CODING_AGENT_DIR` (a leading `~` expanded), else `~/.pi/agent` (config.js getAgentDir). */
export const agentDir = (env: Env, home: string = homedir()): string => {
  const dir = envString(env, "PI_CODING_AGENT_DIR")
  return dir !== undefined ? expandHome(dir, home) : joinPath(home, ".pi/agent")
}

/** Pi's credential store: one entry per provider id, written under a `proper-lockfile` lock. */
export const authPath = (env: Env, home?: string): string => joinPath(agentDir(env, home), "auth.json")

const shared = settingsNames({ prefix: "CORTEXKIT_OPENAI_AUTH", configFile: "~/.pi/agent/openai-auth.json" })

/**
 * Our settings' names in Pi. The switches every host shares keep their `CORTEXKIT_OPENAI_AUTH_` names; the
 * four that OpenCode names after itself are `PI_OPENAI_AUTH_*` here, and the file lives in the agent dir.
 */
export const PI_SETTINGS: SettingsNames = {
  env: {
    ...shared.env,
    configFile: "PI_OPENAI_AUTH_FILE",
    dumpDir: "PI_OPENAI_AUTH_DUMP_DIR",
    logLevel: "PI_OPENAI_AUTH_LOG_LEVEL",
    logFile: "PI_OPENAI_AUTH_LOG_FILE",
  },
  defaultConfigFile: (env, home) => joinPath(agentDir(env, home), "openai-auth.json"),
  dumpDirName: "pi-openai-auth-dumps",
  logFileName: "pi-openai-auth.log",
}

/** Pi's settings names over `env`. */
export const piSettings = (env: Env): SettingsSource => ({ names: PI_SETTINGS, env })

/** `$PI_OPENAI_AUTH_FILE`, else `openai-auth.json` beside Pi's own settings in the agent dir. */
export const settingsPath = (env: Env, home: string = homedir()): string => configPath(piSettings(env), home)
