/**
 * Everything behind the server entry that needs the Effect runtime: loaded on first use (the first request,
 * login or slash command), so OpenCode's start-up, which waits for every plugin's init, does not pay for it.
 */
import type { QuotaData } from "@cortexkit/openai-auth-accounts/CommandViews"
import { type HostTokens, MainCredentials, MainCredentialsError } from "@cortexkit/openai-auth-accounts/Credentials"
import { formatQuota } from "@cortexkit/openai-auth-accounts/Format"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import type { PluginInput } from "@opencode-ai/plugin"
import { Effect, Exit, Layer, Option, Redacted } from "effect"
import { KeepWarm } from "./KeepWarm.ts"
import { makeFetch } from "./Pipeline.ts"
import { makeRuntime } from "./Runtime.ts"
import { tuiPresent } from "./tui/Marker.ts"

const PROVIDER = "openai"

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

/** `opencode run --command openai-quota`: the table `openai-auth quota` prints, failed polls included */
const quotaText = (data: QuotaData, now: number): string =>
  formatQuota(
    data.accounts,
    data.polled.flatMap((p) => (p.ok ? [] : [{ key: p.key, message: p.message }])),
    now,
  )

const configFile = Effect.gen(function* () {
  return (yield* Settings).configFile
})

export interface OAuthStart {
  readonly url: string
  readonly instructions: string
  readonly callback: () => Promise<ReturnType<typeof oauthResult> | { readonly type: "failed" }>
}

export const createCore = (
  input: PluginInput,
  getAuth: () => Promise<unknown>,
  isSubagent: (session: string) => boolean | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
) => {
  const runtime = makeRuntime(env, hostMainCredentials(input, getAuth))

  // commands and logins are loaded on first use: a request never needs them (docs/performance.md, start)
  let actionsModule: Promise<typeof import("./AccountActions.ts")> | undefined
  const actions = () => {
    actionsModule ??= import("./AccountActions.ts")
    return actionsModule
  }

  const authorize = async (headless: boolean): Promise<OAuthStart> => {
    const flow = await runtime.runPromise((await actions()).loginFlow(headless))
    return {
      url: flow.url,
      instructions: flow.instructions,
      callback: async () => {
        const exit = await runtime.runPromiseExit(flow.wait)
        return Exit.isSuccess(exit) ? oauthResult(exit.value) : { type: "failed" as const }
      },
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
    const { startDeviceLogin, runCommand } = await actions()
    const started = await runtime.runPromiseExit(startDeviceLogin)
    if (Exit.isFailure(started)) {
      const message = `could not start the login: ${String(started.cause)}`
      await notify(message, "error")
      return { message, headless }
    }
    const { code, poll } = started.value
    const message = `to add ${label === undefined ? "a ChatGPT account" : `"${label}"`}, open ${code.verificationUrl} and enter ${code.userCode}`
    await notify(message, "info", 120_000)
    void runtime
      .runPromise(runCommand({ _tag: "AccountAdd", label, headless: true }, { login: () => poll }))
      .then((result) => notify(result.summary, "success"))
      .catch((error) => notify(`adding the account failed: ${String(error)}`, "error"))
    return { message, headless }
  }

  /** Runs a slash command; returns the line to show, and whether no TUI is there to show it. */
  const command = async (
    name: string,
    args: string,
  ): Promise<{ readonly message: string; readonly headless: boolean }> => {
    const headless = !tuiPresent(await runtime.runPromise(configFile))
    const { parseCommand, runCommand, splitArguments } = await actions()
    const words = splitArguments(args)
    if (words.length === 0 && !headless) {
      await input.client.tui
        .publish({ body: { type: "tui.command.execute", properties: { command: `openai.${name}.dialog` } } })
        .catch(() => undefined)
      return { message: `opened the ${name} dialog`, headless }
    }
    const parsed = parseCommand(name, words)
    if (!parsed.ok) {
      await notify(parsed.error, "error")
      return { message: parsed.error, headless }
    }
    if (parsed.command._tag === "AccountAdd") return addAccount(parsed.command.label, headless)
    const exit = await runtime.runPromiseExit(runCommand(parsed.command))
    const message = Exit.isSuccess(exit)
      ? parsed.command._tag === "QuotaShow" && headless
        ? quotaText(exit.value.data as QuotaData, Date.now())
        : exit.value.summary
      : `openai-${name} failed: ${Exit.isFailure(exit) ? String(exit.cause) : ""}`
    await notify(message, Exit.isSuccess(exit) ? "success" : "error")
    return { message, headless }
  }

  const untrack = (session: string) =>
    runtime
      .runPromise(
        Effect.gen(function* () {
          yield* (yield* KeepWarm).untrack(session)
        }),
      )
      .catch(() => undefined)

  return {
    fetch: makeFetch(runtime, { isSubagent }),
    authorize,
    command,
    untrack,
    dispose: () => runtime.dispose(),
  }
}

export type ServerCore = ReturnType<typeof createCore>
