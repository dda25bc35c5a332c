/**
 * The Pi extension (`pi install npm:@cortexkit/pi-openai-auth`, or `pi -e <path>`): ChatGPT Plus/Pro for
 * Pi's `openai-codex` provider with fallback accounts, routing, killswitch, quota in the status line and
 * the `/openai-*` commands. The factory only registers: the libraries' runtime (Client.ts) is loaded on
 * first use, so Pi's start-up does not pay for it.
 */
import type { ExtensionAPI, ExtensionContext } from "@earendil-works/pi-coding-agent"
import { getAgentDir, VERSION } from "@earendil-works/pi-coding-agent"
import type { Client } from "./Client.ts"
import { authPath, PROVIDER_ID, STATUS_KEY } from "./PiHost.ts"
import { providerConfig } from "./Provider.ts"
import { registerCommands } from "./SlashCommands.ts"
import { statusLine } from "./Status.ts"

export default function openaiAuth(pi: ExtensionAPI): void {
  // the agent dir as Pi resolved it: our settings file and Pi's auth.json are found from it
  const env = { ...process.env, PI_CODING_AGENT_DIR: getAgentDir() }
  let loading: Promise<Client> | undefined
  const client = () => {
    loading ??= import("./Client.ts").then((m) =>
      m.createClient({ env, authPath: authPath(env), piVersion: VERSION, served: (account) => refreshStatus(account) }),
    )
    return loading
  }

  // the status line follows the session Pi is showing; a context left over from a replaced session throws
  let ui: ExtensionContext | undefined
  const refreshStatus = (served?: string) => {
    const ctx = ui
    if (ctx === undefined || !ctx.hasUI || loading === undefined) return
    void loading
      .then((c) => c.status(served))
      .then((model) => {
        const text = statusLine(model)
        if (text !== undefined) ctx.ui.setStatus(STATUS_KEY, text)
      })
      .catch(() => undefined)
  }

  pi.registerProvider(PROVIDER_ID, providerConfig(client))
  registerCommands(pi, client, (ctx) => {
    ui = ctx
    refreshStatus()
  })

  pi.on("session_start", (_event, ctx) => {
    ui = ctx
    // the last reading on disk, before this session's first answer brings a new one
    if (ctx.hasUI) {
      void client()
      refreshStatus()
    }
  })
  // the answer's end (`served`) updates the line; this only keeps the context of the session in view
  pi.on("turn_start", (_event, ctx) => {
    ui = ctx
  })
  // Pi's own cache warmer re-sends the last request before the prompt cache expires: `/openai-cachekeep` decides
  pi.on("cache_warming_decision", async () => ({ action: (await (await client()).cacheKeep()) ? "warm" : "stop" }))
  pi.on("session_shutdown", async () => {
    ui = undefined
    const current = loading
    loading = undefined
    // pending quota readings and state are written before Pi exits
    if (current !== undefined) await (await current).dispose()
  })
}
