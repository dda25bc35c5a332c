/**
 * `openai-auth` as a user runs it, for tests: a temp HOME/XDG with its own config file, the simulator as
 * issuer, usage and Codex endpoint, and one real process per command.
 */
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import type { SimulatorHandle, SimulatorOptions } from "@cortexkit/openai-auth-testkit/Simulator"
import { simulatorSuite } from "../../../accounts/test/support/fixture.ts"

export const CLI = join(import.meta.dir, "..", "..", "src", "cli.ts")

export interface CliHome {
  readonly dir: string
  /** our store */
  readonly config: string
  /** OpenCode's auth.json */
  readonly auth: string
  readonly env: Record<string, string>
}

export const makeCliHome = (root: string, name: string, sim: SimulatorHandle, issuer = sim.url): CliHome => {
  const dir = join(root, name)
  mkdirSync(dir, { recursive: true })
  const config = join(dir, "config", "opencode", "openai-auth.json")
  return {
    dir,
    config,
    auth: join(dir, "data", "opencode", "auth.json"),
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: dir,
      XDG_CONFIG_HOME: join(dir, "config"),
      XDG_DATA_HOME: join(dir, "data"),
      OPENCODE_OPENAI_AUTH_FILE: config,
      OPENCODE_OPENAI_AUTH_LOG_FILE: join(dir, "log.txt"),
      CORTEXKIT_OPENAI_AUTH_ISSUER: issuer,
      CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
      CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
    },
  }
}

export interface CliRun {
  readonly stdout: string
  readonly stderr: string
  readonly code: number
}

/** one `openai-auth` process; `prefix` runs it through another command (e.g. `setpriv` to drop root) */
export const runCli = async (
  home: Pick<CliHome, "env">,
  args: ReadonlyArray<string>,
  prefix: ReadonlyArray<string> = [],
): Promise<CliRun> => {
  const proc = Bun.spawn([...prefix, "bun", CLI, ...args], {
    env: home.env,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  })
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { stdout, stderr, code }
}

/**
 * A suite of CLI runs: the simulator for the suite, a fresh home per `home()`, and every byte any `cli()` run
 * printed kept in `printed` (for a final scan).
 */
export const cliSuite = (prefix: string, options?: SimulatorOptions) => {
  const suite = simulatorSuite(prefix, "[cli]", options)
  const printed: Array<string> = []
  let homes = 0
  return {
    root: suite.root,
    printed,
    get sim(): SimulatorHandle {
      return suite.sim
    },
    home: (issuer?: string): CliHome => makeCliHome(suite.root, `home-${++homes}`, suite.sim, issuer),
    cli: async (home: Pick<CliHome, "env">, ...args: Array<string>): Promise<CliRun> => {
      const run = await runCli(home, args)
      printed.push(run.stdout, run.stderr)
      return run
    },
  }
}
