/**
 * Runs the real `opencode` 1.18.33 binary (from npm) offline against the simulator, with our plugin loaded
 * from this checkout. Everything lives in a throwaway sandbox (HOME, XDG dirs, project); the config dirs are
 * pre-seeded so OpenCode does not try to install `@opencode-ai/plugin` from the network, and every setting
 * that would reach out (models catalog, auto-update, share, LSP downloads) is switched off.
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import type { SimAccount, SimulatorHandle } from "@cortexkit/openai-auth-testkit/Simulator"

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
  ): Promise<{ code: number; stdout: string; stderr: string }>
  [Symbol.dispose](): void
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
  if (main !== undefined) {
    writeFileSync(
      authPath,
      JSON.stringify({
        openai: {
          type: "oauth",
          access: main.tokens.access,
          refresh: main.tokens.refresh,
          expires: Date.now() + main.tokens.expiresIn * 1000,
          accountId: main.accountId,
        },
      }),
    )
    chmodSync(authPath, 0o600)
  }
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
    run: async (args, more = {}) => {
      const proc = Bun.spawn([binary, ...args], {
        cwd: project,
        env: { ...env, ...more },
        stdin: "ignore",
        stdout: "pipe",
        stderr: "pipe",
      })
      const timer = setTimeout(() => proc.kill(), 90_000)
      const [stdout, stderr, code] = await Promise.all([
        new Response(proc.stdout).text(),
        new Response(proc.stderr).text(),
        proc.exited,
      ])
      clearTimeout(timer)
      return { code, stdout, stderr }
    },
    [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }),
  }
}
