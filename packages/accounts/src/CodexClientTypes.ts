/**
 * The shapes of the Promise facade (`CodexClient.ts`): what a host passes to `createCodexClient` and what it
 * gets back. Plain data and Promises only, so a host needs no Effect to use them.
 */
import type { Env, PrefixNamesOptions, ResolvedSettings, SettingsNames } from "@cortexkit/openai-auth-core/Settings"
import type { Command, Parsed } from "./CommandSyntax.ts"
import type { AccountsData, CommandResult, KillswitchData, QuotaData } from "./CommandViews.ts"
import type { AccountView } from "./Format.ts"
import type { Fetch } from "./RequestPath.ts"
import type { RoutingMode, Threshold } from "./Routing.ts"

export type {
  AccountsData,
  AccountView,
  Command,
  CommandResult,
  Fetch,
  KillswitchData,
  Parsed,
  QuotaData,
  RoutingMode,
  Threshold,
}

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
  /** told about every request an account served (before the answer is handed back: keep it quick) */
  readonly onServed?: (served: ServedInfo) => void
}

/** Which account served a request, and what was tried before it (a fallback, a refresh, a retry). */
export interface ServedInfo {
  /** `main`, or the fallback's key (`<account id>/<user id>`) */
  readonly account: string
  readonly attempts: ReadonlyArray<{
    readonly account: string
    readonly outcome: string
    readonly message?: string | undefined
  }>
  readonly transport: string
  readonly model: string
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
