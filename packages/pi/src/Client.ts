/**
 * Everything the extension asks of the libraries, behind one Promise API: the libraries' facade
 * (`makeCodexClient` over `clientServices`, accounts) with Pi's identity, Pi's settings names and Pi's
 * `auth.json` as the main account, plus request dumps; and the two things only Pi asks for: the refresh Pi
 * runs under its own lock, and the quota line of the serving account. Nothing outside this module touches
 * an Effect service; Pi never sees an Effect.
 *
 * The main account lives in Pi's `auth.json` (AuthFile.ts); fallback accounts, routing, killswitch and
 * quota in `openai-auth.json` beside it (PiHost.ts).
 */

import type { ClientServices } from "@cortexkit/openai-auth-accounts/ClientServices"
import { clientServices } from "@cortexkit/openai-auth-accounts/ClientServices"
import type { LoginResult } from "@cortexkit/openai-auth-accounts/CodexClientTypes"
import type { Command } from "@cortexkit/openai-auth-accounts/CommandSyntax"
import type { AccountsData, CommandResult, QuotaData } from "@cortexkit/openai-auth-accounts/CommandViews"
import { PERMANENT_REFRESH_FAILURES } from "@cortexkit/openai-auth-accounts/CredentialsRefresh"
import { dumpHook, dumpsLayer } from "@cortexkit/openai-auth-accounts/DumpHook"
import type { Dumps } from "@cortexkit/openai-auth-accounts/Dumps"
import { displayName, formatAccounts, formatQuota } from "@cortexkit/openai-auth-accounts/Format"
import { LiveSettings } from "@cortexkit/openai-auth-accounts/LiveSettings"
import { QuotaCache } from "@cortexkit/openai-auth-accounts/QuotaCache"
import { type SidebarModel, sidebarModel } from "@cortexkit/openai-auth-accounts/QuotaView"
import type { RequestHooks } from "@cortexkit/openai-auth-accounts/RequestPath"
import { makeCodexClient } from "@cortexkit/openai-auth-accounts/RuntimeClient"
import { StateFile } from "@cortexkit/openai-auth-accounts/StateFile"
import { Store } from "@cortexkit/openai-auth-accounts/Store"
import type { StoreDocument } from "@cortexkit/openai-auth-accounts/StoreSchema"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { Clock, Effect, Layer, ManagedRuntime, Redacted, Result } from "effect"
import { PiAuthFile } from "./AuthFile.ts"
import { type Env, piIdentity, piSettings } from "./PiHost.ts"

export interface ClientOptions {
  /** the environment our settings are read from (with `PI_CODING_AGENT_DIR` as Pi resolved it) */
  readonly env: Env
  /** Pi's `auth.json` */
  readonly authPath: string
  /** Pi's version, for the `User-Agent` of our logins and usage polls */
  readonly piVersion?: string
  /** an account answered a request and its answer has ended (the status line follows it) */
  readonly served?: (account: string) => void
}

export type RefreshOutcome =
  | { readonly ok: true; readonly credential: PiCredential }
  /** permanent: the refresh token is dead (used elsewhere, revoked, expired): only a new login helps */
  | { readonly ok: false; readonly permanent: boolean; readonly message: string }

export interface CommandOutcome {
  readonly ok: boolean
  /** the summary, with the table under it for listings */
  readonly text: string
  /** how the user names each account, for a listing */
  readonly accounts?: ReadonlyArray<string>
}

/** What an account login returns to Pi to keep in `auth.json` (Pi's own OAuth credential shape). */
export interface PiCredential {
  readonly access: string
  readonly refresh: string
  readonly expires: number
  readonly accountId: string
  readonly [key: string]: unknown
}

export const toPiCredential = (tokens: LoginResult["tokens"]): PiCredential => ({
  access: tokens.access,
  refresh: tokens.refresh,
  expires: tokens.expiresAt,
  accountId: tokens.accountId,
})

/** The services behind the client: the facade's, under Pi's names, with dumps. */
export const piClientLayer = (options: ClientOptions) => {
  const settings = piSettings(options.env)
  const services = clientServices({
    identity: piIdentity(options.piVersion),
    settings,
    main: PiAuthFile.layerAt(options.authPath),
    // a bad settings file must not take Pi's provider down: it is reported on every request instead
    ignoreBadFile: true,
  })
  return dumpsLayer(settings).pipe(Layer.provideMerge(services)) as Layer.Layer<ClientServices | Dumps, unknown>
}

/** `main`'s state in our store: a "needs re-login" mark, or none. */
const markMain = (state: StoreDocument["main"]) =>
  Effect.gen(function* () {
    yield* (yield* Store).update((doc) =>
      doc.main === state || (doc.main === undefined && state === undefined) ? doc : { ...doc, main: state },
    )
  })

/** After each served answer: its dump's usage, the state file's last served account, then Pi's status line. */
const piHooks = (served: ClientOptions["served"]): RequestHooks<ClientServices | Dumps> => {
  const dump = dumpHook()
  return {
    served: (turn) =>
      Effect.gen(function* () {
        const dumped = yield* dump(turn)
        const account = turn.routed.account
        return (end) =>
          Effect.gen(function* () {
            if (dumped !== undefined) yield* dumped(end)
            const at = yield* Clock.currentTimeMillis
            yield* (yield* StateFile).update((s) => ({ ...s, lastServed: { key: account, at } }))
            served?.(account)
          })
      }),
  }
}

/** The summary, with the table under it for the two listings. */
export const rendered = (command: Command, result: CommandResult<unknown>, now: number): CommandOutcome => {
  if (command._tag === "QuotaShow") {
    const data = result.data as QuotaData
    const failures = data.polled.flatMap((p) => (p.ok ? [] : [{ key: p.key, message: p.message }]))
    return {
      ok: true,
      text: `${result.summary}\n${formatQuota(data.accounts, failures, now)}`,
      accounts: data.accounts.map(displayName),
    }
  }
  if (command._tag === "AccountList") {
    const data = result.data as AccountsData
    return {
      ok: true,
      text: `${result.summary}\n${formatAccounts(data.accounts, now)}`,
      accounts: data.accounts.map(displayName),
    }
  }
  return { ok: true, text: result.summary }
}

const messageOf = (error: unknown): string => {
  const text = error instanceof Error ? error.message : String(error)
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}

export const createClient = (options: ClientOptions) => {
  const runtime = ManagedRuntime.make(piClientLayer(options))
  const codex = makeCodexClient<Dumps>(runtime, piHooks(options.served))

  /**
   * The refresh Pi asks for while it holds its lock on `auth.json`: the refresh token is spent here, once,
   * and the outcome recorded in our store before Pi writes the file and lets go (our store's lock inside
   * Pi's is the allowed order). Not `Credentials`: its refresh takes Pi's lock, which Pi already holds.
   */
  const refreshForPi = async (refresh: string): Promise<RefreshOutcome> =>
    runtime.runPromise(
      Effect.gen(function* () {
        const { issuer } = yield* (yield* LiveSettings).current
        const outcome = yield* (yield* TokenClient).refresh(Redacted.make(refresh), { issuer }).pipe(Effect.result)
        if (Result.isSuccess(outcome)) {
          const t = outcome.success
          yield* Effect.ignore(markMain(undefined))
          return {
            ok: true as const,
            credential: toPiCredential({
              access: Redacted.value(t.access),
              refresh: Redacted.value(t.refresh),
              expiresAt: t.expiresAt,
              accountId: t.accountId,
            }),
          }
        }
        const failure = outcome.failure
        const permanent = PERMANENT_REFRESH_FAILURES.has(failure._tag)
        if (permanent) yield* Effect.ignore(markMain({ state: "needs-relogin", needsReloginReason: failure._tag }))
        return { ok: false as const, permanent, message: failure.message }
      }),
    )

  /** A new main login, kept by Pi in `auth.json`; it cures a "needs re-login" mark left by a dead refresh token. */
  const asMain = async (completed: Promise<LoginResult>): Promise<PiCredential> => {
    const credential = toPiCredential((await completed).tokens)
    await runtime.runPromise(Effect.ignore(markMain(undefined)))
    return credential
  }

  /** A slash command with the shared grammar (`name` without `openai-`); `account add` is `addAccount`. */
  const command = async (name: string, args: string): Promise<CommandOutcome> => {
    const parsed = await codex.commands.parse(name, args)
    if (!parsed.ok) return { ok: false, text: parsed.error }
    return codex.commands.run(parsed.command).then(
      (result) => rendered(parsed.command, result, Date.now()),
      (error: unknown) => ({ ok: false, text: `openai-${name} failed: ${messageOf(error)}` }),
    )
  }

  /** `account add [label]`: the label checked by the grammar, then a device login kept as a fallback. */
  const addAccount = async (args: string) => {
    const parsed = await codex.commands.parse("account", args)
    if (!parsed.ok) return { ok: false as const, text: parsed.error }
    const command: Command = parsed.command
    const label = command._tag === "AccountAdd" ? command.label : undefined
    const login = await codex.login.device({ saveAs: "fallback", ...(label === undefined ? {} : { label }) })
    return { ok: true as const, label, login }
  }

  /**
   * The quota line's model for `served` (the account that just answered), else for the account that
   * served last, the switch target or main.
   */
  const status = (served?: string): Promise<SidebarModel | undefined> =>
    runtime.runPromise(
      Effect.gen(function* () {
        const doc = yield* (yield* LiveSettings).document
        const quota = yield* (yield* QuotaCache).all
        const state = yield* (yield* StateFile).current
        const now = yield* Clock.currentTimeMillis
        const shown = served === undefined ? state : { ...state, lastServed: { key: served, at: now } }
        return sidebarModel({ ...doc, quota: { ...doc.quota, ...Object.fromEntries(quota) } }, shown, now)
      }),
    )

  /** whether `/openai-cachekeep` is on */
  const cacheKeep = () =>
    runtime.runPromise(
      Effect.gen(function* () {
        return (yield* (yield* LiveSettings).document).cacheKeep.enabled
      }),
    )

  return {
    fetch: codex.fetch,
    login: codex.login,
    asMain,
    refreshForPi,
    command,
    addAccount,
    status,
    cacheKeep,
    dispose: () => codex.dispose(),
  }
}

export type Client = ReturnType<typeof createClient>
