/**
 * An in-process client over a throwaway Pi agent dir (`auth.json`, `openai-auth.json`) and the simulator:
 * the same services the extension runs, without Pi around them.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { SimAccount, SimulatorHandle } from "@cortexkit/openai-auth-testkit/Simulator"
import { type ClientOptions, createClient } from "../../src/Client.ts"

export interface TestAgent {
  readonly dir: string
  readonly authPath: string
  readonly storePath: string
  readonly options: ClientOptions
  writeMain(account: SimAccount, expires?: number, tokens?: { access: string; refresh: string }): void
  [Symbol.dispose](): void
}

export const testAgent = (sim: SimulatorHandle, env: Record<string, string> = {}): TestAgent => {
  const dir = mkdtempSync(join(tmpdir(), "pi-agent-"))
  const authPath = join(dir, "auth.json")
  const storePath = join(dir, "openai-auth.json")
  return {
    dir,
    authPath,
    storePath,
    options: {
      env: {
        PATH: process.env.PATH,
        CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
        CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
        CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
        PI_CODING_AGENT_DIR: dir,
        PI_OPENAI_AUTH_LOG_FILE: join(dir, "openai-auth.log"),
        ...env,
      },
      authPath,
    },
    writeMain: (account, expires = Date.now() + 3_600_000, tokens = account.tokens) =>
      writeFileSync(
        authPath,
        JSON.stringify({
          "openai-codex": {
            type: "oauth",
            access: tokens.access,
            refresh: tokens.refresh,
            expires,
            accountId: account.accountId,
          },
        }),
        { mode: 0o600 },
      ),
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  }
}

export const clientFor = (agent: TestAgent, served?: (account: string) => void) =>
  createClient(served === undefined ? agent.options : { ...agent.options, served })
