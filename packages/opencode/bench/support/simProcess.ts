/**
 * The simulator (`startSimulator()` via testkit's `main.ts`) in its own process, driven over `/__sim/*`. The
 * request-path, memory and scale benches use it so that the simulator's own work (parsing and remembering
 * every prompt, its GC) neither shares a thread with the code under measurement nor counts in its memory.
 */
import { join } from "node:path"
import type { ScriptStep, SimAccount, SimQuota, SimRequest } from "@cortexkit/openai-auth-testkit/Simulator"

const MAIN_TS = join(import.meta.dir, "../../../testkit/src/main.ts")

export interface SimProcess {
  readonly url: string
  readonly codexEndpoint: string
  readonly usageEndpoint: string
  readonly accounts: ReadonlyArray<SimAccount>
  readonly script: (accountId: string, ...steps: ReadonlyArray<ScriptStep>) => Promise<void>
  readonly setQuota: (accountId: string, quota: Partial<SimQuota>) => Promise<void>
  readonly requests: () => Promise<Array<SimRequest>>
  readonly stop: () => Promise<void>
}

export const startSimProcess = async (accountIds: ReadonlyArray<string>): Promise<SimProcess> => {
  const proc = Bun.spawn(["bun", MAIN_TS, ...accountIds.flatMap((id) => ["--account", id])], {
    stdout: "pipe",
    stderr: "inherit",
  })
  const reader = proc.stdout.getReader()
  let text = ""
  while (!text.includes("\n")) {
    const { done, value } = await reader.read()
    if (done) throw new Error("the simulator process exited before printing its URL")
    text += new TextDecoder().decode(value)
  }
  reader.releaseLock()
  const url = text.split("\n")[0]?.trim() ?? ""
  const admin = async (method: string, name: string, body?: unknown) => {
    const response = await fetch(`${url}/__sim/${name}`, {
      method,
      ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { "content-type": "application/json" } }),
    })
    if (!response.ok) throw new Error(`simulator admin ${name}: HTTP ${response.status} ${await response.text()}`)
    return response.json()
  }
  const accounts = (await admin("GET", "accounts")) as Array<SimAccount>
  return {
    url,
    codexEndpoint: `${url}/backend-api/codex/responses`,
    usageEndpoint: `${url}/backend-api/wham/usage`,
    accounts,
    script: async (accountId, ...steps) => void (await admin("POST", "script", { accountId, steps })),
    setQuota: async (accountId, quota) => void (await admin("POST", "quota", { accountId, ...quota })),
    requests: async () => (await admin("GET", "requests")) as Array<SimRequest>,
    stop: async () => {
      proc.kill("SIGTERM")
      await proc.exited
    },
  }
}

/**
 * The plugin built against a simulator process with one account, as the request-path and cpu benches use it:
 * the simulator, its account, the plugin's `fetch`, and `close` (which undoes all of it).
 */
export const pluginOnSimProcess = async () => {
  const { buildPlugin, makeSandbox, withEnv } = await import("./plugin.ts")
  const sim = await startSimProcess(["acct_main"])
  const main = sim.accounts[0]
  if (main === undefined) throw new Error("no simulator account")
  const box = makeSandbox(sim)
  const restore = withEnv(box.env)
  const plugin = await buildPlugin(main)
  const close = async () => {
    await plugin.dispose()
    restore()
    await sim.stop()
    box.dispose()
  }
  return { sim, main, plugin, close }
}
