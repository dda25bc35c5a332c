/**
 * The host side of the plugin, importing nothing of the plugin itself (the start bench loads the entry on its
 * own): a minimal fake `PluginInput` (no-op `client.auth.set` and `client.tui.*`) and the auth loader called
 * with a getter for the main account's OAuth entry, as OpenCode does.
 */
import type { SimAccount } from "@cortexkit/openai-auth-testkit/Simulator"
import type { Plugin, PluginInput } from "@opencode-ai/plugin"

export type PluginFetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** OpenCode's auth store entry for the main account, as `/login openai` leaves it. */
export const oauthEntry = (account: SimAccount) => ({
  type: "oauth" as const,
  access: account.tokens.access,
  refresh: account.tokens.refresh,
  expires: Date.now() + account.tokens.expiresIn * 1000,
  accountId: account.accountId,
})

const noop = async () => ({ data: true })

const fakeInput = (): PluginInput => {
  const client = {
    auth: { set: noop },
    tui: { showToast: noop, publish: noop },
  }
  return { client } as unknown as PluginInput
}

export interface BuiltPlugin {
  readonly fetch: PluginFetch
  readonly dispose: () => Promise<void>
}

/**
 * What OpenCode does: call the server entry, then the auth hook's loader with a getter for the main account.
 * The env must be set (in `process.env`) before this: the runtime reads it when built.
 */
export const buildPluginWith = async (entry: Plugin, main: SimAccount): Promise<BuiltPlugin> => {
  const hooks = await entry(fakeInput(), {} as never)
  const auth = oauthEntry(main)
  const loaded = (await hooks.auth?.loader?.(async () => auth as never, {} as never)) as
    | { fetch?: PluginFetch }
    | undefined
  const fetch = loaded?.fetch
  if (fetch === undefined) throw new Error("the auth loader returned no fetch")
  return { fetch, dispose: async () => void (await (hooks as { dispose?: () => Promise<void> }).dispose?.()) }
}
