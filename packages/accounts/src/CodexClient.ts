/**
 * The Promise facade for hosts that do not use Effect: `createCodexClient(options)` gives a `fetch` any
 * OpenAI Responses client can use (the AI SDK, openai-node), logins, accounts, quota, routing and
 * killswitch, and `dispose()`. One `ManagedRuntime` inside; no Effect value crosses the boundary, so the
 * host may use any `effect` version of its own, or none. Effect hosts take `clientServices` and the
 * request path (`RequestPath.makeFetch`) instead; the OpenCode plugin builds its client with
 * `makeCodexClient` over its own runtime, adding its dumps and keep-warm as request hooks.
 */

import { homedir } from "node:os"
import { dirname, join } from "node:path"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import {
  configPath,
  type Env,
  type PrefixNamesOptions,
  type ResolvedSettings,
  type SettingsNames,
  type SettingsSource,
  settingsNames,
} from "@cortexkit/openai-auth-core/Settings"
import { Effect, Layer, ManagedRuntime, Option, Redacted } from "effect"
import { type ClientServices, clientServices } from "./ClientServices.ts"
import type { Command, Parsed } from "./CommandSyntax.ts"
import type { AccountsData, CommandResult, KillswitchData, QuotaData } from "./CommandViews.ts"
import { MainCredentials, MainCredentialsError } from "./CredentialsContract.ts"
import { LiveSettings } from "./LiveSettings.ts"
import { MainAccountFile } from "./MainAccountFile.ts"
import { type Fetch, makeFetch, type RequestHooks } from "./RequestPath.ts"
import type { RoutingMode, Threshold } from "./Routing.ts"

export type { AccountsData, Command, CommandResult, Fetch, KillswitchData, Parsed, QuotaData, RoutingMode, Threshold }

/** A main account's tokens as a host keeps them. */
export interface MainAccountTokens {
  readonly access: string
  readonly refresh: string
  /** epoch ms */
  readonly expiresAt: number
  readonly accountId?: string | undefined
}

/** The host's own store of the main account: read before requests, written after every refresh. */
export interface MainAccountStore {
  readonly read: () => Promise<MainAccountTokens | undefined>
  readonly write: (tokens: MainAccountTokens) => Promise<void>
}

export interface CodexClientOptions {
  /** sent as `originator` on every Codex request and in the browser login's URL (e.g. `my-agent`) */
  readonly originator: string
  /** the `User-Agent` of the login and usage calls, and of Codex requests whose client sent none */
  readonly userAgent: string
  /** the settings' names: one prefix for every variable and the settings file (or a full table) */
  readonly settings: PrefixNamesOptions | SettingsNames
  /** the environment settings are read from; default `process.env` */
  readonly env?: Env
  /**
   * Where the main account's tokens live: the host's own store, or a JSON file in the `auth.json` shape of
   * agent hosts. Default: `openai-auth-main.json` beside the settings file.
   */
  readonly mainAccount?: MainAccountStore | { readonly file: string; readonly entry?: string }
  /** fail when the settings file is unreadable or holds a bad value (default: serve with env + defaults) */
  readonly strictSettings?: boolean
}

export type LoginTarget = "main" | "fallback" | "none"

export interface LoginOptions {
  /**
   * What becomes of the account: the main account, a fallback, or nothing (the tokens are only returned,
   * for a host that stores its main login itself). Default: main when the host holds no main login yet.
   */
  readonly saveAs?: LoginTarget
  /** a fallback account's label */
  readonly label?: string
  /** stops waiting for the user (the promise then rejects) */
  readonly signal?: AbortSignal
}

export interface LoginResult {
  readonly accountId: string
  readonly email?: string | undefined
  readonly plan?: string | undefined
  readonly savedAs: LoginTarget
  readonly summary: string
  readonly tokens: MainAccountTokens & { readonly accountId: string; readonly idToken?: string | undefined }
}

export interface DeviceLogin {
  /** open this anywhere and enter `userCode` */
  readonly verificationUrl: string
  readonly userCode: string
  /** epoch ms after which the code is no longer accepted */
  readonly expiresAt: number
  readonly completed: Promise<LoginResult>
}

export interface BrowserLogin {
  /** the authorize URL (also handed to `openUrl`) */
  readonly url: string
  readonly completed: Promise<LoginResult>
}

export interface CodexClient {
  /** give this to an OpenAI Responses client as its `fetch` */
  readonly fetch: Fetch
  readonly login: {
    readonly device: (options?: LoginOptions) => Promise<DeviceLogin>
    readonly browser: (
      options?: LoginOptions & { readonly openUrl?: (url: string) => unknown },
    ) => Promise<BrowserLogin>
  }
  readonly accounts: {
    readonly list: () => Promise<AccountsData>
    /** polls the usage endpoint for every account */
    readonly quota: () => Promise<QuotaData>
    readonly remove: (name: string) => Promise<string>
    /** routes to this account first (`main` to go back), without touching the main login */
    readonly switchTo: (name: string) => Promise<string>
  }
  readonly routing: {
    readonly get: () => Promise<RoutingMode>
    readonly set: (mode: RoutingMode) => Promise<void>
  }
  readonly killswitch: {
    readonly get: () => Promise<KillswitchData>
    readonly enable: (enabled: boolean) => Promise<void>
    /** remaining-percent thresholds per account name (`*` for every account) */
    readonly set: (thresholds: Readonly<Record<string, Threshold>>) => Promise<void>
  }
  /** any command of the shared grammar (`command("routing", "fallback-first")`) but `account add` (a login) */
  readonly command: (name: string, args?: string) => Promise<CommandResult<unknown>>
  /** the grammar in two steps, for a host that handles some commands itself (OpenCode's `account add`) */
  readonly commands: {
    readonly parse: (name: string, args?: string) => Promise<Parsed>
    readonly run: (command: Command) => Promise<CommandResult<unknown>>
  }
  /** the settings in force now (the environment over the settings file) */
  readonly settings: () => Promise<ResolvedSettings>
  readonly dispose: () => Promise<void>
}

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

const MAIN_FILE = "openai-auth-main.json"

/** A login the host may never wait for must not end the process as an unhandled rejection. */
const handled = <A>(promise: Promise<A>): Promise<A> => {
  promise.catch(() => undefined)
  return promise
}

/** The runtime's layer for `options`: `clientServices` with the main account where the options say. */
export const codexClientLayer = (options: CodexClientOptions) => {
  const names = "env" in options.settings ? options.settings : settingsNames(options.settings)
  const source: SettingsSource = { names, env: options.env ?? process.env }
  const main = options.mainAccount ?? { file: join(dirname(configPath(source, homedir())), MAIN_FILE) }
  return clientServices({
    identity: { originator: options.originator, userAgent: options.userAgent },
    settings: source,
    main:
      "file" in main
        ? MainAccountFile.layer({ path: main.file, entry: main.entry ?? "openai", label: "the main account file" })
        : mainAccountLayer(main),
    ignoreBadFile: options.strictSettings !== true,
  })
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
      list: async () => (await command((a) => a.runCommand({ _tag: "AccountList" }))).data as AccountsData,
      quota: async () => (await command((a) => a.runCommand({ _tag: "QuotaShow" }))).data as QuotaData,
      remove: async (name) => (await line("account", `remove ${name}`)).summary,
      switchTo: async (name) => (await line("account", `switch ${name}`)).summary,
    },
    routing: {
      get: async () => ((await command((a) => a.runCommand({ _tag: "AccountList" }))).data as AccountsData).routing,
      set: async (mode) => void (await command((a) => a.runCommand({ _tag: "RoutingSet", mode }))),
    },
    killswitch: {
      get: async () => (await command((a) => a.runCommand({ _tag: "KillswitchShow" }))).data as KillswitchData,
      enable: async (enabled) => void (await command((a) => a.runCommand({ _tag: "KillswitchEnable", enabled }))),
      set: async (thresholds) => void (await command((a) => a.runCommand({ _tag: "KillswitchSet", thresholds }))),
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

/** A client for a host that does not use Effect; see `CodexClientOptions`. */
export const createCodexClient = (options: CodexClientOptions): CodexClient =>
  makeCodexClient(ManagedRuntime.make(codexClientLayer(options)))
