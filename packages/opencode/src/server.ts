/**
 * The OpenCode server entry. It registers the built-in `openai` provider id, so OpenCode loads it after its
 * own Codex hooks and our hooks win: the login methods, the `fetch` that runs the whole pipeline, the model
 * list, and the headers and parameters Codex needs. Slash commands are server commands handled here and in
 * the TUI entry; they always end by throwing a sentinel, the only clean stop OpenCode 1.18 offers.
 */
import { applyCatalog, type HostModel } from "@cortexkit/openai-auth-core/Models"
import type { Hooks, Plugin, PluginInput } from "@opencode-ai/plugin"
import type { ServerCore } from "./ServerCore.ts"

/** `Pipeline.AGENT_HEADER` (not imported: this entry must load without the request path) */
const AGENT_HEADER = "x-openai-auth-agent"

/**
 * Whether an OpenCode session was spawned by an agent's task (it has a parent): keep-warm treats it as a
 * subagent's. Undefined when OpenCode cannot say right now; the caller asks again on the next request.
 */
export const subagentOf = async (client: PluginInput["client"], sessionID: string): Promise<boolean | undefined> => {
  const session = await client.session.get({ path: { id: sessionID } }).catch(() => undefined)
  const data = session?.data
  if (data === undefined || data === null || typeof data !== "object") return undefined
  return typeof data.parentID === "string"
}

export const PLUGIN_ID = "cortexkit-openai-auth"
const PROVIDER = "openai"
const OAUTH_PLACEHOLDER_KEY = "chatgpt-oauth"

export const SLASH_COMMANDS = {
  "openai-quota": "Show 5h and weekly ChatGPT quota for every account (polls the usage endpoint)",
  "openai-account": "Manage ChatGPT accounts: add [label] | switch <id> | remove <id> | order <a> <b>",
  "openai-routing": "Account preference: main-first | fallback-first",
  "openai-killswitch": "Hard-block accounts below quota thresholds: on | off | set <acct>:<5h>,<1w> ...",
  "openai-cachekeep": "Idle prompt-cache keep-warm: on | off | subagents on | subagents off",
  "openai-logging": "Log level: error | warn | info | debug | trace",
  "openai-dump": "Request dumps for cache debugging: on | off",
} as const

export const server: Plugin = async (input) => {
  let getAuth: () => Promise<unknown> = async () => undefined
  let loading: Promise<ServerCore> | undefined
  const subagentSessions = new Map<string, boolean>()
  // OpenCode waits for every plugin's init before it starts: the Effect runtime loads on first use
  const core = () => {
    loading ??= import("./ServerCore.ts").then((m) =>
      m.createCore(
        input,
        () => getAuth(),
        (session) => subagentSessions.get(session),
      ),
    )
    return loading
  }

  // with an API key (or no login) OpenCode's own fetch serves `openai`: our hooks must leave its requests alone
  const usingChatGpt = async () =>
    ((await getAuth().catch(() => undefined)) as { type?: string } | undefined)?.type === "oauth"

  const oauthMethod = (label: string, headless: boolean) => ({
    type: "oauth" as const,
    label,
    authorize: async () => ({ ...(await (await core()).authorize(headless)), method: "auto" as const }),
  })

  const hooks: Hooks = {
    config: async (config) => {
      config.command ??= {}
      const commands = config.command
      for (const [name, description] of Object.entries(SLASH_COMMANDS)) {
        commands[name] ??= { template: `${name} (handled by the OpenAI auth plugin)`, description }
      }
    },
    "command.execute.before": async (command) => {
      if (!(command.command in SLASH_COMMANDS)) return
      const name = command.command.replace(/^openai-/, "")
      const { message, headless } = await (await core()).command(name, command.arguments)
      if (headless) process.stdout.write(`${message}\n`)
      // OpenCode 1.18 has no way to stop the model turn other than an error; say plainly that it is not one
      throw new Error(`/${command.command} handled by the OpenAI auth plugin; not an error`)
    },
    auth: {
      provider: PROVIDER,
      loader: async (auth) => {
        getAuth = auth
        const current = (await auth()) as { type?: string } | undefined
        if (current?.type !== "oauth") return {}
        return {
          apiKey: OAUTH_PLACEHOLDER_KEY,
          fetch: async (request: string | URL | Request, init?: RequestInit) => (await core()).fetch(request, init),
        }
      },
      methods: [
        oauthMethod("ChatGPT Pro/Plus (browser)", false),
        oauthMethod("ChatGPT Pro/Plus (headless)", true),
        { type: "api", label: "Manually enter API Key" },
      ],
    },
    provider: {
      id: PROVIDER,
      models: async (provider, ctx) => {
        const models = provider.models as unknown as Record<string, HostModel>
        if (ctx.auth?.type !== "oauth") return provider.models
        return applyCatalog(models) as unknown as typeof provider.models
      },
    },
    "chat.headers": async (chat, output) => {
      if (chat.model.providerID !== PROVIDER || !(await usingChatGpt())) return
      output.headers.originator = "opencode"
      output.headers["session-id"] = chat.sessionID
      // keep-warm must tell OpenCode's title and summary requests from the conversation's own turns
      output.headers[AGENT_HEADER] = chat.agent
      if (!subagentSessions.has(chat.sessionID)) {
        const subagent = await subagentOf(input.client, chat.sessionID)
        if (subagent !== undefined) subagentSessions.set(chat.sessionID, subagent)
      }
    },
    event: async ({ event }) => {
      if (event.type !== "session.deleted" || loading === undefined) return
      const id = event.properties.info.id
      subagentSessions.delete(id)
      await (await loading).untrack(id)
    },
    "chat.params": async (chat, output) => {
      if (chat.model.providerID !== PROVIDER || !(await usingChatGpt())) return
      // Codex rejects token caps and sampling parameters; the rewrite drops them too, this keeps them off the wire
      output.maxOutputTokens = undefined
    },
    dispose: async () => {
      const current = loading
      loading = undefined
      if (current !== undefined) await (await current).dispose()
    },
  }
  return hooks
}

export default { id: PLUGIN_ID, server }
