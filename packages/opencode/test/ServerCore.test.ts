import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import type { PluginInput } from "@opencode-ai/plugin"
import { tempDir } from "../../accounts/test/support/fixture.ts"
import { createCore } from "../src/ServerCore.ts"
import { removeTuiMarker, writeTuiMarker } from "../src/tui/Marker.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ deviceInterval: "0" })
})
afterAll(async () => {
  await sim.stop()
})

/** What the plugin gets from OpenCode, recording the toasts shown and the events published. */
const fakeInput = () => {
  const toasts: Array<{ message: string; variant: string }> = []
  const published: Array<unknown> = []
  const input = {
    client: {
      tui: {
        showToast: async ({ body }: { body: { message: string; variant: string } }) => {
          toasts.push(body)
          return { data: true }
        },
        publish: async ({ body }: { body: unknown }) => {
          published.push(body)
          return { data: true }
        },
      },
      auth: { set: async () => ({ data: true }) },
    },
  } as unknown as PluginInput
  return { input, toasts, published }
}

/** the plugin's settings for a store in `dir`, every endpoint the simulator */
const envFor = (dir: string) => ({
  OPENCODE_OPENAI_AUTH_FILE: join(dir, "openai-auth.json"),
  OPENCODE_OPENAI_AUTH_LOG_FILE: join(dir, "plugin.log"),
  CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
  CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
  CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
})

/** the server's core with `account` as OpenCode's stored login (what the loader's `auth()` returns) */
const coreFor = (
  input: PluginInput,
  account: { readonly tokens: { readonly access: string; readonly refresh: string } },
  env: Record<string, string>,
) => {
  const auth = {
    type: "oauth",
    access: account.tokens.access,
    refresh: account.tokens.refresh,
    expires: Date.now() + 3600_000,
  }
  return createCore(
    input,
    async () => auth,
    () => false,
    env,
  )
}

describe("slash commands inside OpenCode", () => {
  test("/openai-account add shows a device code at once and adds the account when the login completes", async () => {
    using dir = tempDir()
    const main = sim.addAccount({ accountId: "acct_core_main", userId: "u_core_main" })
    const added = sim.addAccount({ accountId: "acct_core_added", userId: "u_core_added" })
    sim.nextLogin(added.accountId)
    const { input, toasts } = fakeInput()
    const env = envFor(dir.dir)
    const storePath = env.OPENCODE_OPENAI_AUTH_FILE
    const core = coreFor(input, main, env)
    try {
      const result = await core.command("account", "add work")
      expect(result.message).toContain(`${sim.url}/codex/device`)
      expect(result.message).toMatch(/enter [A-Z0-9]{4}-[A-Z0-9]{4}/)
      const deadline = Date.now() + 10_000
      while (!toasts.some((t) => t.variant === "success") && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      expect(toasts.find((t) => t.variant === "success")?.message).toContain("work")
      const store = JSON.parse(readFileSync(storePath, "utf8")) as { accounts: Array<{ id: string; label?: string }> }
      expect(store.accounts.map((a) => [a.id, a.label])).toEqual([[added.accountId, "work"]])
    } finally {
      await core.dispose()
    }
  })
})

describe("/openai-quota through the server command", () => {
  test("with a TUI it opens the dialog (which polls); headless it polls every account and prints the figures", async () => {
    using dir = tempDir()
    const main = sim.addAccount({ accountId: "acct_core_qmain", userId: "u_core_qmain" })
    const fallback = sim.addAccount({ accountId: "acct_core_qfb", userId: "u_core_qfb" })
    sim.setQuota(main.accountId, { primaryUsedPercent: 42, secondaryUsedPercent: 17 })
    sim.setQuota(fallback.accountId, { primaryUsedPercent: 12, secondaryUsedPercent: 30 })
    const { input, published } = fakeInput()
    const env = envFor(dir.dir)
    const storePath = env.OPENCODE_OPENAI_AUTH_FILE
    // a fallback as `openai-auth login` leaves it: it never served a request, no quota reading anywhere
    writeFileSync(
      storePath,
      JSON.stringify({
        version: 1,
        accounts: [
          {
            id: fallback.accountId,
            userId: fallback.userId,
            label: "backup",
            access: fallback.tokens.access,
            refresh: fallback.tokens.refresh,
            expiresAt: Date.now() + 3600_000,
            addedAt: Date.now(),
          },
        ],
      }),
      { mode: 0o600 },
    )
    const core = coreFor(input, main, env)
    try {
      writeTuiMarker(storePath)
      const inTui = await core.command("quota", "")
      expect(inTui.headless).toBe(false)
      expect(published).toEqual([{ type: "tui.command.execute", properties: { command: "openai.quota.dialog" } }])
      removeTuiMarker(storePath)

      const headless = await core.command("quota", "")
      expect(headless.headless).toBe(true)
      // (a 5 h window read within its first second still shows 5h 00m)
      expect(headless.message).toMatch(/^\s*main\s+42%\s+in (4h 59m|5h 00m)\s+17%/m)
      expect(headless.message).toMatch(/^\s*backup\s+12%\s+in (4h 59m|5h 00m)\s+30%\s+in (6d 23h|7d 0h)\s+active$/m)
    } finally {
      removeTuiMarker(storePath)
      await core.dispose()
    }
  })
})
