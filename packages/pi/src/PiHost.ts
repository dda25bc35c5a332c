/**
 * What the Pi coding agent is as a host, as plain data: where it keeps its files, the provider id whose
 * login is our main account, and the names of our settings in Pi. Pure, so the CLI (which runs outside Pi)
 * and the tests derive the same paths as the extension. Facts are from `@earendil-works/pi-coding-agent`
 * 1.6.0 (docs/pi.md).
 */
import { homedir } from "node:os"
import { join } from "node:path"

/** The built-in ChatGPT provider: `/login openai-codex` stores its tokens under this key of `auth.json`. */
export const PROVIDER_ID = "openai-codex"
/** The built-in provider's api; our stream serves exactly the models on it. */
export const PROVIDER_API = "openai-codex-responses"
/** Codex expects an originator on every request; Pi's own is `pi`. */
export const ORIGINATOR = "pi"
/** The key our quota takes in Pi's status line. */
export const STATUS_KEY = "openai-auth"

export type Env = Readonly<Record<string, string | undefined>>

const expandTilde = (path: string, home: string) =>
  path === "~" ? home : path.startsWith("~/") ? join(home, path.slice(2)) : path

/** `$PI_CODING_AGENT_DIR` (a leading `~` expanded), else `~/.pi/agent` (config.js getAgentDir). */
export const agentDir = (env: Env, home: string = homedir()): string => {
  const dir = env.PI_CODING_AGENT_DIR
  return dir !== undefined && dir !== "" ? expandTilde(dir, home) : join(home, ".pi", "agent")
}

/** Pi's credential store: one entry per provider id, written under a `proper-lockfile` lock. */
export const authPath = (env: Env, home?: string): string => join(agentDir(env, home), "auth.json")

/**
 * Our environment variables in Pi. The ones every host shares keep their `CORTEXKIT_OPENAI_AUTH_` names;
 * the four that OpenCode names after itself are `PI_OPENAI_AUTH_*` here.
 */
export const PiEnv = {
  configFile: "PI_OPENAI_AUTH_FILE",
  dumpDir: "PI_OPENAI_AUTH_DUMP_DIR",
  logLevel: "PI_OPENAI_AUTH_LOG_LEVEL",
  logFile: "PI_OPENAI_AUTH_LOG_FILE",
} as const

/** `$PI_OPENAI_AUTH_FILE`, else `openai-auth.json` beside Pi's own settings in the agent dir. */
export const settingsPath = (env: Env, home: string = homedir()): string => {
  const explicit = env[PiEnv.configFile]?.trim()
  return explicit !== undefined && explicit !== ""
    ? expandTilde(explicit, home)
    : join(agentDir(env, home), "openai-auth.json")
}

export const DUMP_DIR_NAME = "pi-openai-auth-dumps"
export const LOG_FILE_NAME = "pi-openai-auth.log"
