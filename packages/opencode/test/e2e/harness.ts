/**
 * Runs the real `opencode` 1.18.33 binary (from npm) offline against the simulator, with our plugin loaded
 * from this checkout. Everything lives in a throwaway sandbox (HOME, XDG dirs, project); the config dirs are
 * pre-seeded so OpenCode does not try to install `@opencode-ai/plugin` from the network, and every setting
 * that would reach out (models catalog, auto-update, share, LSP downloads) is switched off.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import type { SimAccount, SimRequest, SimulatorHandle } from "@cortexkit/openai-auth-testkit/Simulator"

const require = createRequire(import.meta.url)
export const PLUGIN_DIR = join(import.meta.dir, "..", "..")

export const opencodeBinary = (): string => {
  for (const name of ["opencode-linux-x64", "opencode-linux-x64-baseline"]) {
    try {
      return join(
        dirname(
          require.resolve(`${name}/package.json`, { paths: [dirname(require.resolve("opencode-ai/package.json"))] }),
        ),
        "bin",
        "opencode",
      )
    } catch {}
  }
  throw new Error("the opencode binary is not installed (bun install)")
}

const seed = (dir: string) => {
  mkdirSync(join(dir, "node_modules"), { recursive: true })
  writeFileSync(join(dir, "package.json"), JSON.stringify({ dependencies: { "@opencode-ai/plugin": "1.18.33" } }))
  writeFileSync(
    join(dir, "package-lock.json"),
    JSON.stringify({ lockfileVersion: 3, packages: { "": { dependencies: { "@opencode-ai/plugin": "1.18.33" } } } }),
  )
}

export interface RunOptions {
  /** kill the process after this long (default 90 s) */
  readonly timeoutMs?: number
  /** stop the process as soon as its stdout or stderr contains this text (for commands that would wait on) */
  readonly until?: string
}

export interface Sandbox {
  readonly root: string
  readonly project: string
  readonly storePath: string
  readonly logFile: string
  readonly dumpDir: string
  readonly authPath: string
  readonly env: Record<string, string>
  run(
    args: ReadonlyArray<string>,
    extraEnv?: Record<string, string>,
    options?: RunOptions,
  ): Promise<{ code: number; stdout: string; stderr: string }>
  /** `opencode serve` on a free loopback port in the project: a long-lived OpenCode, driven over its HTTP API */
  serve(extraEnv?: Record<string, string>): Promise<Served>
  [Symbol.dispose](): void
}

export interface Served {
  readonly url: string
  /** a new session in the sandbox's project; returns its id (a given title skips OpenCode's title turn) */
  session(title?: string): Promise<string>
  /** sends `text` to the session with `model` and waits for the answer; returns the answer's text */
  prompt(session: string, text: string, model?: string): Promise<string>
  /**
   * Runs a server command the way the TUI submits `/<name> <args>`; returns the HTTP status (our commands
   * always end with an error, the only way OpenCode 1.18 lets a command stop the model turn: 500)
   */
  command(session: string, name: string, args: string, model?: string): Promise<number>
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

export const makeSandbox = (
  sim: SimulatorHandle,
  main: SimAccount | undefined,
  extraEnv: Record<string, string> = {},
): Sandbox => {
  const root = mkdtempSync(join(tmpdir(), "oa-e2e-"))
  const dirs = {
    home: join(root, "home"),
    data: join(root, "data"),
    config: join(root, "config"),
    cache: join(root, "cache"),
    state: join(root, "state"),
  }
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true })
  seed(join(dirs.config, "opencode"))
  const project = join(root, "project")
  mkdirSync(project)
  writeFileSync(
    join(project, "opencode.json"),
    JSON.stringify({ $schema: "https://opencode.ai/config.json", share: "disabled", plugin: [`file://${PLUGIN_DIR}`] }),
  )
  const authPath = join(dirs.data, "opencode", "auth.json")
  mkdirSync(dirname(authPath), { recursive: true })
  if (main !== undefined) writeHostAuth(authPath, main)
  const storePath = join(dirs.config, "opencode", "openai-auth.json")
  const logFile = join(root, "plugin.log")
  const dumpDir = join(root, "dumps")
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dirs.home,
    XDG_DATA_HOME: dirs.data,
    XDG_CONFIG_HOME: dirs.config,
    XDG_CACHE_HOME: dirs.cache,
    XDG_STATE_HOME: dirs.state,
    OPENCODE_DISABLE_MODELS_FETCH: "1",
    OPENCODE_DISABLE_AUTOUPDATE: "1",
    OPENCODE_DISABLE_SHARE: "1",
    OPENCODE_DISABLE_LSP_DOWNLOAD: "1",
    OPENCODE_DISABLE_CLAUDE_CODE: "1",
    OPENCODE_DISABLE_EXTERNAL_SKILLS: "1",
    OPENCODE_DISABLE_EMBEDDED_WEB_UI: "1",
    CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
    CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
    CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
    OPENCODE_OPENAI_AUTH_LOG_FILE: logFile,
    OPENCODE_OPENAI_AUTH_DUMP_DIR: dumpDir,
    OPENCODE_OPENAI_AUTH_LOG_LEVEL: "debug",
    ...extraEnv,
  }
  const binary = opencodeBinary()
  return {
    root,
    project,
    storePath,
    logFile,
    dumpDir,
    authPath,
    env,
    run: async (args, more = {}, options = {}) => {
      const proc = Bun.spawn([binary, ...args], {
        cwd: project,
        env: { ...env, ...more },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      })
      const timer = setTimeout(() => proc.kill(), options.timeoutMs ?? 90_000)
      const out = { stdout: "", stderr: "" }
      const drain = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
        const decoder = new TextDecoder()
        for await (const chunk of stream) {
          out[key] += decoder.decode(chunk, { stream: true })
          if (options.until !== undefined && out[key].includes(options.until)) proc.kill()
        }
      }
      const [, , code] = await Promise.all([drain(proc.stdout, "stdout"), drain(proc.stderr, "stderr"), proc.exited])
      clearTimeout(timer)
      return { code, stdout: out.stdout, stderr: out.stderr }
    },
    serve: async (more = {}) => {
      const proc = Bun.spawn([binary, "serve", "--hostname=127.0.0.1", "--port=0"], {
        cwd: project,
        env: { ...env, ...more },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      })
      const stop = async () => {
        proc.kill()
        await proc.exited
      }
      const url = await listeningUrl(proc.stdout).catch(async (error: unknown) => {
        await stop()
        throw error
      })
      const query = `?directory=${encodeURIComponent(project)}`
      const send = (path: string, body: unknown) =>
        fetch(`${url}${path}${query}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        })
      const post = async (path: string, body: unknown) => {
        const response = await send(path, body)
        const text = await response.text()
        if (!response.ok) throw new Error(`POST ${path} answered ${response.status}: ${text}`)
        return JSON.parse(text) as Record<string, unknown>
      }
      return {
        url,
        session: async (title) => String((await post("/session", title === undefined ? {} : { title })).id),
        prompt: async (session, text, model = "openai/gpt-5.5") => {
          const [providerID, modelID] = model.split("/")
          const answer = await post(`/session/${session}/message`, {
            model: { providerID, modelID },
            parts: [{ type: "text", text }],
          })
          const parts = (answer.parts ?? []) as Array<{ type?: string; text?: string }>
          return parts
            .filter((p) => p.type === "text")
            .map((p) => p.text ?? "")
            .join("")
        },
        command: async (session, name, args, model = "openai/gpt-5.5") => {
          const response = await send(`/session/${session}/command`, { command: name, arguments: args, model })
          await response.arrayBuffer()
          return response.status
        },
        stop,
        [Symbol.asyncDispose]: stop,
      }
    },
    [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }),
  }
}

/** reads `opencode serve`'s stdout until it says where it listens (bounded: a stuck start fails the test) */
const listeningUrl = async (stdout: ReadableStream<Uint8Array>, timeoutMs = 120_000): Promise<string> => {
  const decoder = new TextDecoder()
  let seen = ""
  const reader = stdout.getReader()
  const timer = setTimeout(() => void reader.cancel(), timeoutMs)
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) throw new Error(`opencode serve stopped before listening; it said: ${seen}`)
      seen += decoder.decode(value, { stream: true })
      const match = /listening on (http:\/\/[^\s]+)/.exec(seen)
      if (match?.[1] !== undefined) return match[1]
    }
  } finally {
    clearTimeout(timer)
    reader.releaseLock()
  }
}

/** OpenCode's `auth.json` holding `account` as the main (OAuth) login; `expires` in epoch ms (default: fresh). */
export const writeHostAuth = (
  authPath: string,
  account: SimAccount,
  options: { readonly expires?: number; readonly access?: string; readonly refresh?: string } = {},
): void => {
  writeFileSync(
    authPath,
    JSON.stringify({
      openai: {
        type: "oauth",
        access: options.access ?? account.tokens.access,
        refresh: options.refresh ?? account.tokens.refresh,
        expires: options.expires ?? Date.now() + account.tokens.expiresIn * 1000,
        accountId: account.accountId,
      },
    }),
  )
  chmodSync(authPath, 0o600)
}

export const readJson = (path: string): Record<string, unknown> | undefined =>
  existsSync(path) ? (JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>) : undefined

/** permission bits of a file, e.g. 0o600 */
export const fileMode = (path: string): number => statSync(path).mode & 0o777

/** Codex requests (HTTP posts and WebSocket `response.create` frames) the simulator served for one account. */
export const responsesFor = (sim: SimulatorHandle, accountId: string): Array<SimRequest> =>
  sim.requests.filter((r) => r.accountId === accountId && r.path.endsWith("/codex/responses") && r.method !== "GET")

/** every Codex request the simulator recorded, whichever account (or none) it was for */
export const codexRequests = (sim: SimulatorHandle): Array<SimRequest> =>
  sim.requests.filter((r) => r.path.endsWith("/codex/responses"))

/** A fallback account entry of the store (`openai-auth.json`), as `openai-auth login` would save it. */
export const storedAccount = (account: SimAccount, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: account.accountId,
  userId: account.userId,
  email: account.email,
  plan: account.plan,
  access: account.tokens.access,
  refresh: account.tokens.refresh,
  idToken: account.tokens.idToken,
  expiresAt: Date.now() + account.tokens.expiresIn * 1000,
  addedAt: Date.now(),
  ...extra,
})

/** A cached quota reading in the store's shape (`QuotaSnapshot` encoded), windows resetting in an hour/a week. */
export const quotaReading = (fiveHourUsed: number, weeklyUsed: number): Record<string, unknown> => {
  const now = Date.now()
  return {
    observedAt: now,
    source: "headers",
    fiveHour: { usedPercent: fiveHourUsed, windowMinutes: 300, resetsAt: now + 3_600_000 },
    weekly: { usedPercent: weeklyUsed, windowMinutes: 10080, resetsAt: now + 6 * 86_400_000 },
    otherWindows: [],
    additional: [],
  }
}

/** Writes the plugin's store document (version 1 plus `fields`) with mode 0600. */
export const writeStore = (box: Pick<Sandbox, "storePath">, fields: Record<string, unknown>): void => {
  mkdirSync(dirname(box.storePath), { recursive: true })
  writeFileSync(box.storePath, JSON.stringify({ version: 1, ...fields }, null, 2))
  chmodSync(box.storePath, 0o600)
}
