/**
 * The OpenCode server entry. It registers the built-in `openai` provider id, so OpenCode loads it after its
 * own Codex hooks and our hooks win: the login methods, the `fetch` that runs the whole pipeline, the model
 * list, and the headers and parameters Codex needs. Slash commands are server commands handled here and in
 * the TUI entry; they always end by throwing a sentinel, the only clean stop OpenCode 1.18 offers.
 */
import { parseCommand, splitArguments } from "@cortexkit/openai-auth-accounts/CommandSyntax"
import { runCommand } from "@cortexkit/openai-auth-accounts/Commands"
import { type HostTokens, MainCredentials, MainCredentialsError } from "@cortexkit/openai-auth-accounts/Credentials"
import { authorizeBrowser, type CallbackServer } from "@cortexkit/openai-auth-core/CallbackServer"
import { DeviceFlow } from "@cortexkit/openai-auth-core/DeviceFlow"
import { applyCatalog, type HostModel } from "@cortexkit/openai-auth-core/Models"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import type { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import type { Hooks, Plugin, PluginInput } from "@opencode-ai/plugin"
import { Effect, Exit, Layer, Option, Redacted, Scope } from "effect"
import { KeepWarm } from "./KeepWarm.ts"
import { makeFetch } from "./Pipeline.ts"
import { makeRuntime, type PluginRuntime } from "./Runtime.ts"
import { tuiPresent } from "./tui/Marker.ts"

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

/** The main account lives in OpenCode's auth store: read through the loader's getter, written with auth.set. */
const hostMainCredentials = (input: PluginInput, getAuth: () => Promise<unknown>) =>
  Layer.succeed(MainCredentials, {
    read: Effect.tryPromise({
      try: () => getAuth(),
      catch: (e) => new MainCredentialsError({ message: `cannot read OpenCode's auth store: ${String(e)}` }),
    }).pipe(
      Effect.map((auth): Option.Option<HostTokens> => {
        const a = auth as { type?: string; access?: string; refresh?: string; expires?: number; accountId?: string }
        if (a?.type !== "oauth" || typeof a.access !== "string" || typeof a.refresh !== "string") return Option.none()
        return Option.some({
          access: Redacted.make(a.access),
          refresh: Redacted.make(a.refresh),
          expiresAt: typeof a.expires === "number" ? a.expires : 0,
          accountId: a.accountId,
        })
      }),
    ),
    write: (tokens: TokenSet) =>
      Effect.tryPromise({
        try: () =>
          input.client.auth.set({
            path: { id: PROVIDER },
            body: {
              type: "oauth",
              access: Redacted.value(tokens.access),
              refresh: Redacted.value(tokens.refresh),
              expires: tokens.expiresAt,
              ...{ accountId: tokens.accountId },
            },
          }),
        catch: (e) => new MainCredentialsError({ message: `cannot write OpenCode's auth store: ${String(e)}` }),
      }).pipe(Effect.asVoid),
  })

const oauthResult = (tokens: TokenSet) => ({
  type: "success" as const,
  access: Redacted.value(tokens.access),
  refresh: Redacted.value(tokens.refresh),
  expires: tokens.expiresAt,
  accountId: tokens.accountId,
})

const configFile = Effect.gen(function* () {
  return (yield* Settings).configFile
})

export const server: Plugin = async (input) => {
  let getAuth: () => Promise<unknown> = async () => undefined
  let runtime: PluginRuntime | undefined
  const subagentSessions = new Map<string, boolean>()
  const services = () => {
    runtime ??= makeRuntime(
      process.env,
      hostMainCredentials(input, () => getAuth()),
    )
    return runtime
  }

  const loginFlow = (
    headless: boolean,
  ): Effect.Effect<
    { readonly url: string; readonly instructions: string; readonly wait: Effect.Effect<TokenSet, unknown> },
    unknown,
    Settings | DeviceFlow | CallbackServer | TokenClient
  > =>
    Effect.gen(function* () {
      const settings = yield* Settings
      if (headless) {
        const device = yield* DeviceFlow
        const code = yield* device.start({ issuer: settings.issuer })
        return { url: code.verificationUrl, instructions: `Enter code: ${code.userCode}`, wait: device.poll(code) }
      }
      const scope = yield* Scope.make()
      const flow = yield* authorizeBrowser({ issuer: settings.issuer }).pipe(Scope.provide(scope))
      return {
        url: flow.url,
        instructions: "Complete the ChatGPT login in your browser; this window continues by itself.",
        wait: flow.waitForTokens.pipe(Effect.ensuring(Scope.close(scope, Exit.void))),
      }
    })

  const oauthMethod = (label: string, headless: boolean) => ({
    type: "oauth" as const,
    label,
    authorize: async () => {
      const rt = services()
      const flow = await rt.runPromise(loginFlow(headless))
      return {
        url: flow.url,
        instructions: flow.instructions,
        method: "auto" as const,
        callback: async () => {
          const exit = await rt.runPromiseExit(flow.wait)
          return Exit.isSuccess(exit) ? oauthResult(exit.value) : { type: "failed" as const }
        },
      }
    },
  })

  const notify = (message: string, variant: "info" | "success" | "error") =>
    input.client.tui.showToast({ body: { title: "OpenAI", message, variant } }).catch(() => undefined)

  const handleCommand = async (name: string, args: string, headless: boolean) => {
    const rt = services()
    const words = splitArguments(args)
    if (words.length === 0 && !headless) {
      await input.client.tui
        .publish({ body: { type: "tui.command.execute", properties: { command: `openai.${name}.dialog` } } })
        .catch(() => undefined)
      return `opened the ${name} dialog`
    }
    const parsed = parseCommand(name, words)
    if (!parsed.ok) {
      await notify(parsed.error, "error")
      return parsed.error
    }
    const exit = await rt.runPromiseExit(runCommand(parsed.command))
    const message = Exit.isSuccess(exit)
      ? exit.value.summary
      : `openai-${name} failed: ${Exit.isFailure(exit) ? String(exit.cause) : ""}`
    await notify(message, Exit.isSuccess(exit) ? "success" : "error")
    return message
  }

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
      const headless = !tuiPresent(await services().runPromise(configFile))
      const message = await handleCommand(name, command.arguments, headless)
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
          fetch: makeFetch(services(), { isSubagent: (session) => subagentSessions.get(session) === true }),
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
      if (chat.model.providerID !== PROVIDER) return
      output.headers.originator = "opencode"
      output.headers["session-id"] = chat.sessionID
      if (!subagentSessions.has(chat.sessionID)) {
        // a session with a parent was spawned by an agent's task: keep-warm treats it as a subagent's
        const session = await input.client.session.get({ path: { id: chat.sessionID } }).catch(() => undefined)
        subagentSessions.set(chat.sessionID, typeof session?.data?.parentID === "string")
      }
    },
    event: async ({ event }) => {
      if (event.type !== "session.deleted" || runtime === undefined) return
      const id = event.properties.info.id
      subagentSessions.delete(id)
      const untrack = Effect.gen(function* () {
        yield* (yield* KeepWarm).untrack(id)
      })
      await runtime.runPromise(untrack).catch(() => undefined)
    },
    "chat.params": async (chat, output) => {
      if (chat.model.providerID !== PROVIDER) return
      // Codex rejects token caps and sampling parameters; the rewrite drops them too, this keeps them off the wire
      output.maxOutputTokens = undefined
    },
    dispose: async () => {
      await runtime?.dispose()
      runtime = undefined
    },
  }
  return hooks
}

export default { id: PLUGIN_ID, server }
