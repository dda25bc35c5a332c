/**
 * The Promise facade over a runtime the host built: `makeCodexClient(runtime, hooks)` turns a
 * `ManagedRuntime` that holds `ClientServices` (and whatever the hooks use) into a `CodexClient`. The OpenCode
 * plugin builds its client this way, over its runtime with dumps and keep-warm; `createCodexClient`
 * (CodexClient.ts) builds the runtime itself for a host without Effect.
 */
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Effect, Layer, type ManagedRuntime, Option, Redacted } from "effect"
import type { ClientServices } from "./ClientServices.ts"
import type {
  BrowserLogin,
  CodexClient,
  CommandResult,
  DeviceLogin,
  LoginOptions,
  LoginResult,
  MainAccountStore,
} from "./CodexClientTypes.ts"
import type { Commands } from "./Commands.ts"
import { MainCredentials, MainCredentialsError } from "./CredentialsContract.ts"
import { LiveSettings } from "./LiveSettings.ts"
import { makeFetch, type RequestHooks } from "./RequestPath.ts"

export type * from "./CodexClientTypes.ts"

/** The `MainCredentials` port over a host's Promise store. */
export const mainAccountLayer = (store: MainAccountStore): Layer.Layer<MainCredentials> =>
  Layer.succeed(MainCredentials, {
    read: Effect.tryPromise({
      try: () => store.read(),
      catch: (e) => new MainCredentialsError({ message: `cannot read the main account: ${String(e)}` }),
    }).pipe(
      Effect.map((tokens) =>
        tokens === undefined
          ? Option.none()
          : Option.some({
              access: Redacted.make(tokens.access),
              refresh: Redacted.make(tokens.refresh),
              expiresAt: tokens.expiresAt,
              accountId: tokens.accountId,
            }),
      ),
    ),
    write: (tokens) =>
      Effect.tryPromise({
        try: () => store.write(plainTokens(tokens)),
        catch: (e) => new MainCredentialsError({ message: `cannot write the main account: ${String(e)}` }),
      }),
  })

const plainTokens = (tokens: TokenSet) => ({
  access: Redacted.value(tokens.access),
  refresh: Redacted.value(tokens.refresh),
  expiresAt: tokens.expiresAt,
  accountId: tokens.accountId,
  idToken: tokens.idToken === undefined ? undefined : Redacted.value(tokens.idToken),
})

/** A login the host may never wait for must not end the process as an unhandled rejection. */
const handled = <A>(promise: Promise<A>): Promise<A> => {
  promise.catch(() => undefined)
  return promise
}

/** A client over a runtime the host built (it may hold more than `ClientServices`, used by `hooks`). */
export const makeCodexClient = <R = never>(
  runtime: ManagedRuntime.ManagedRuntime<ClientServices | R, unknown>,
  hooks: RequestHooks<ClientServices | R> = {},
): CodexClient => {
  let actionsModule: Promise<typeof import("./ClientActions.ts")> | undefined
  // logins and commands load on their first use: a request never needs them
  const actions = () => {
    actionsModule ??= import("./ClientActions.ts")
    return actionsModule
  }
  const run = <A, E>(effect: Effect.Effect<A, E, ClientServices | R>, signal?: AbortSignal) =>
    runtime.runPromise(effect, signal === undefined ? undefined : { signal })
  const command = async <A>(
    pick: (a: Awaited<ReturnType<typeof actions>>) => Effect.Effect<CommandResult<A>, unknown, ClientServices>,
  ) => run(pick(await actions()))
  const commands = async <A>(f: (c: Commands["Service"]) => Effect.Effect<CommandResult<A>, unknown>) =>
    (await command((a) => a.withCommands(f))).data

  const finish = async (
    wait: Effect.Effect<TokenSet, unknown, ClientServices>,
    options: LoginOptions,
  ): Promise<LoginResult> => {
    const a = await actions()
    const saveAs = options.saveAs ?? ((await run(a.hasMainLogin)) ? "fallback" : "main")
    return run(
      Effect.gen(function* () {
        const tokens = yield* wait
        const saved = saveAs === "none" ? undefined : yield* a.saveLogin(tokens, saveAs, options.label)
        const result: LoginResult = {
          accountId: tokens.accountId,
          email: tokens.email,
          plan: tokens.plan,
          savedAs: saveAs,
          summary: saved?.summary ?? `logged in as ${tokens.email ?? tokens.accountId}`,
          tokens: plainTokens(tokens),
        }
        return result
      }),
      options.signal,
    )
  }

  const device = async (options: LoginOptions = {}): Promise<DeviceLogin> => {
    const started = await run((await actions()).startDeviceLogin, options.signal)
    return {
      verificationUrl: started.url,
      userCode: started.userCode,
      expiresAt: started.expiresAt,
      completed: handled(finish(started.wait, options)),
    }
  }

  const browser = async (options: LoginOptions & { readonly openUrl?: (url: string) => unknown } = {}) => {
    const open = options.openUrl
    const started = await run(
      (await actions()).startBrowserLogin(
        open === undefined ? undefined : (url) => Effect.tryPromise(async () => open(url)),
      ),
      options.signal,
    )
    return { url: started.url, completed: handled(finish(started.wait, options)) } satisfies BrowserLogin
  }

  const line = (name: string, args = "") => command((a) => a.runCommandLine(name, args))

  return {
    fetch: makeFetch<ClientServices | R>((effect) => runtime.runPromise(effect), hooks),
    login: { device, browser },
    accounts: {
      list: () => commands((c) => c.listAccounts()),
      quota: () => commands((c) => c.quota()),
      remove: async (name) => (await command((a) => a.withCommands((c) => c.removeAccount(name)))).summary,
      switchTo: async (name) => (await command((a) => a.withCommands((c) => c.switchAccount(name)))).summary,
    },
    routing: {
      get: async () => (await commands((c) => c.listAccounts())).routing,
      set: async (mode) => void (await commands((c) => c.routingSet(mode))),
    },
    killswitch: {
      get: () => commands((c) => c.killswitchShow()),
      enable: async (enabled) => void (await commands((c) => c.killswitchEnable(enabled))),
      set: async (thresholds) => void (await commands((c) => c.killswitchSet(thresholds))),
    },
    command: line,
    commands: {
      parse: async (name, args = "") => {
        const a = await actions()
        return a.parseCommand(name, a.splitArguments(args))
      },
      run: (parsed) => command((a) => a.runCommand(parsed)),
    },
    settings: () =>
      run(
        Effect.gen(function* () {
          return yield* (yield* LiveSettings).current
        }),
      ),
    dispose: () => runtime.dispose(),
  }
}
