/**
 * Everything behind the server entry that needs the Effect runtime: loaded on first use (the first request,
 * login or slash command), so OpenCode's start-up, which waits for every plugin's init, does not pay for it.
 * It is a thin user of the accounts facade (`makeCodexClient`): OpenCode's main-account store, its request
 * hooks (dumps, keep-warm), and its way of showing things (toasts, dialogs) are all it adds.
 */

import type { QuotaData } from "@cortexkit/openai-auth-accounts/CommandViews"
import { formatQuota } from "@cortexkit/openai-auth-accounts/Format"
import {
  type DeviceLogin,
  type LoginResult,
  type MainAccountStore,
  mainAccountLayer,
  makeCodexClient,
} from "@cortexkit/openai-auth-accounts/RuntimeClient"
import type { PluginInput } from "@opencode-ai/plugin"
import { Effect } from "effect"
import { KeepWarm } from "./KeepWarm.ts"
import { openCodeHooks } from "./Pipeline.ts"
import { makeRuntime } from "./Runtime.ts"
import { tuiPresent } from "./tui/Marker.ts"

const PROVIDER = "openai"

interface OpenCodeAuth {
  readonly type?: string
  readonly access?: string
  readonly refresh?: string
  readonly expires?: number
  readonly accountId?: string
}

/** The main account lives in OpenCode's auth store: read through the loader's getter, written with auth.set. */
const openCodeMainAccount = (input: PluginInput, getAuth: () => Promise<unknown>): MainAccountStore => ({
  read: async () => {
    const auth = (await getAuth()) as OpenCodeAuth | undefined
    if (auth?.type !== "oauth" || typeof auth.access !== "string" || typeof auth.refresh !== "string") return undefined
    return {
      access: auth.access,
      refresh: auth.refresh,
      expiresAt: typeof auth.expires === "number" ? auth.expires : 0,
      accountId: auth.accountId,
    }
  },
  write: async (tokens) => {
    await input.client.auth.set({
      path: { id: PROVIDER },
      body: {
        type: "oauth",
        access: tokens.access,
        refresh: tokens.refresh,
        expires: tokens.expiresAt,
        ...{ accountId: tokens.accountId },
      },
    })
  },
})

const oauthResult = ({ tokens }: LoginResult) => ({
  type: "success" as const,
  access: tokens.access,
  refresh: tokens.refresh,
  expires: tokens.expiresAt,
  accountId: tokens.accountId,
})

export interface OAuthStart {
  readonly url: string
  readonly instructions: string
  readonly callback: () => Promise<ReturnType<typeof oauthResult> | { readonly type: "failed" }>
}

/** `opencode run --command openai-quota`: the table `openai-auth quota` prints, failed polls included */
const quotaText = (data: QuotaData, now: number): string =>
  formatQuota(
    data.accounts,
    data.polled.flatMap((p) => (p.ok ? [] : [{ key: p.key, message: p.message }])),
    now,
  )

const describe = (error: unknown) => (error instanceof Error ? error.message : String(error))

export const createCore = (
  input: PluginInput,
  getAuth: () => Promise<unknown>,
  isSubagent: (session: string) => boolean | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
) => {
  const runtime = makeRuntime(env, mainAccountLayer(openCodeMainAccount(input, getAuth)))
  const client = makeCodexClient(runtime, openCodeHooks({ isSubagent }))

  /** OpenCode's own login (the main account): OpenCode stores the tokens the callback returns. */
  const authorize = async (headless: boolean): Promise<OAuthStart> => {
    const started = headless
      ? await client.login.device({ saveAs: "none" }).then((login) => ({
          url: login.verificationUrl,
          instructions: `Enter code: ${login.userCode}`,
          completed: login.completed,
        }))
      : await client.login.browser({ saveAs: "none" }).then((login) => ({
          url: login.url,
          instructions: "Complete the ChatGPT login in your browser; this window continues by itself.",
          completed: login.completed,
        }))
    return {
      url: started.url,
      instructions: started.instructions,
      callback: () => started.completed.then(oauthResult, () => ({ type: "failed" as const })),
    }
  }

  const notify = (message: string, variant: "info" | "success" | "error", duration?: number) =>
    input.client.tui
      .showToast({ body: { title: "OpenAI", message, variant, ...(duration === undefined ? {} : { duration }) } })
      .catch(() => undefined)

  /**
   * `/openai-account add [label]` from inside OpenCode: a device-code login (it works in a terminal, over SSH
   * and in the desktop app alike). The code is shown at once and the login completes in the background, so
   * the command returns while the user signs in; a toast says when the account was added.
   */
  const addAccount = async (label: string | undefined, headless: boolean) => {
    let login: DeviceLogin
    try {
      login = await client.login.device({ saveAs: "fallback", ...(label === undefined ? {} : { label }) })
    } catch (error) {
      const message = `could not start the login: ${describe(error)}`
      await notify(message, "error")
      return { message, headless }
    }
    const message = `to add ${label === undefined ? "a ChatGPT account" : `"${label}"`}, open ${login.verificationUrl} and enter ${login.userCode}`
    await notify(message, "info", 120_000)
    void login.completed
      .then((result) => notify(result.summary, "success"))
      .catch((error: unknown) => notify(`adding the account failed: ${describe(error)}`, "error"))
    return { message, headless }
  }

  /** Runs a slash command; returns the line to show, and whether no TUI is there to show it. */
  const command = async (
    name: string,
    args: string,
  ): Promise<{ readonly message: string; readonly headless: boolean }> => {
    const headless = !tuiPresent((await client.settings()).configFile)
    if (args.trim() === "" && !headless) {
      await input.client.tui
        .publish({ body: { type: "tui.command.execute", properties: { command: `openai.${name}.dialog` } } })
        .catch(() => undefined)
      return { message: `opened the ${name} dialog`, headless }
    }
    const parsed = await client.commands.parse(name, args)
    if (!parsed.ok) {
      await notify(parsed.error, "error")
      return { message: parsed.error, headless }
    }
    if (parsed.command._tag === "AccountAdd") return addAccount(parsed.command.label, headless)
    const outcome = await client.commands.run(parsed.command).then(
      (result) => ({
        ok: true,
        message:
          parsed.command._tag === "QuotaShow" && headless
            ? quotaText(result.data as QuotaData, Date.now())
            : result.summary,
      }),
      (error: unknown) => ({ ok: false, message: `openai-${name} failed: ${describe(error)}` }),
    )
    await notify(outcome.message, outcome.ok ? "success" : "error")
    return { message: outcome.message, headless }
  }

  const untrack = (session: string) =>
    runtime
      .runPromise(
        Effect.gen(function* () {
          yield* (yield* KeepWarm).untrack(session)
        }),
      )
      .catch(() => undefined)

  return { fetch: client.fetch, authorize, command, untrack, dispose: client.dispose }
}

export type ServerCore = ReturnType<typeof createCore>
