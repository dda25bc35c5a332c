/**
 * The bodies of every account-management command, shared by the TUI slash commands, the server's command
 * hook and the `openai-auth` CLI. Each is a plain read-modify-write on the store (under its lock, so names
 * are resolved against the file as it is now) and returns a one-line summary plus structured data for
 * `--json` and dialogs. Optional services widen what a command can show: `MainCredentials` (is main logged
 * in?), `StateFile` (keep-warm status), `Logger` (apply a level live), `QuotaPoller` (fresh quota).
 */

import { HostIdentity, mainLoginOf } from "@cortexkit/openai-auth-core/HostIdentity"
import { parseIdentity } from "@cortexkit/openai-auth-core/Jwt"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { printableLine } from "@cortexkit/openai-auth-core/Printable"
import { Clock, Context, Effect, Layer, Option, Redacted, Result } from "effect"
import { keyOf, MAIN, sameIdentity } from "./AccountKey.ts"
import { type Command, labelProblem } from "./CommandSyntax.ts"
import {
  type AccountsData,
  accountViews,
  type CommandError,
  CommandRefused,
  type CommandResult,
  fallbackByName,
  labelTaken,
  type QuotaData,
  resolveKey,
} from "./CommandViews.ts"
import { MainCredentials } from "./Credentials.ts"
import { type AccountView, displayName, formatState } from "./Format.ts"
import { QuotaPoller } from "./QuotaPoller.ts"
import { makeSettingsCommands } from "./SettingsCommands.ts"
import { Store } from "./Store.ts"
import { type Account, type StoreDocument, upsertAccount } from "./StoreSchema.ts"

export {
  type AccountsData,
  AmbiguousAccount,
  accountViews,
  type CacheKeepData,
  type CommandError,
  CommandRefused,
  type CommandResult,
  type KillswitchData,
  knownNames,
  type QuotaData,
  resolveKey,
  UnknownAccount,
} from "./CommandViews.ts"

export interface LoginHook<E> {
  /** runs the OAuth flow the host offers (browser dialog, device code) and returns the new tokens */
  readonly login: (options: {
    readonly label?: string | undefined
    readonly headless: boolean
  }) => Effect.Effect<TokenSet, E>
}

export const make = Effect.gen(function* () {
  const store = yield* Store

  const listAccounts = Effect.fn("Commands.listAccounts")(function* () {
    const doc = yield* store.read
    const now = yield* Clock.currentTimeMillis
    const host = yield* Effect.serviceOption(MainCredentials)
    const loggedIn = Option.isNone(host)
      ? undefined
      : yield* host.value.read.pipe(
          Effect.map(Option.isSome),
          Effect.orElseSucceed(() => undefined),
        )
    const accounts = accountViews(doc, now, loggedIn)
    const data: AccountsData = {
      routing: doc.routing,
      activeAccount: doc.activeAccount,
      killswitch: doc.killswitch.enabled,
      accounts,
    }
    const summary = `${accounts.length} accounts (routing ${doc.routing}): ${accounts
      .map((a) => `${displayName(a)} ${formatState(a, now)}`)
      .join(", ")}`
    return { summary, data } satisfies CommandResult<AccountsData>
  })

  /** whether `tokens` are the login the host already holds as the main account (same account and user) */
  const isMainLogin = (tokens: TokenSet) =>
    Effect.gen(function* () {
      const host = yield* Effect.serviceOption(MainCredentials)
      if (Option.isNone(host)) return false
      const held = yield* host.value.read.pipe(Effect.orElseSucceed(() => Option.none()))
      if (Option.isNone(held)) return false
      const identity = parseIdentity({ accessToken: Redacted.value(held.value.access) })
      const accountId = held.value.accountId ?? (Result.isSuccess(identity) ? identity.success.accountId : undefined)
      const userId = Result.isSuccess(identity) ? identity.success.userId : undefined
      // teammates share a workspace's account id: only the same user is the same login
      return (
        accountId === tokens.accountId &&
        (userId === undefined || tokens.userId === undefined || userId === tokens.userId)
      )
    })

  const addAccount = Effect.fn("Commands.addAccount")(function* (tokens: TokenSet, label?: string) {
    if (yield* isMainLogin(tokens)) {
      const login = mainLoginOf(yield* HostIdentity)
      return yield* new CommandRefused({
        message: `${tokens.email ?? tokens.accountId} is already the main account (${login.host}'s ${login.command}); log in with another ChatGPT account to add a fallback`,
      })
    }
    const now = yield* Clock.currentTimeMillis
    const account: Account = {
      id: tokens.accountId,
      access: tokens.access,
      refresh: tokens.refresh,
      expiresAt: tokens.expiresAt,
      addedAt: now,
      state: "active",
      ...(tokens.userId === undefined ? {} : { userId: tokens.userId }),
      ...(label === undefined || label === "" ? {} : { label }),
      ...(tokens.email === undefined ? {} : { email: tokens.email }),
      ...(tokens.plan === undefined ? {} : { plan: tokens.plan }),
      ...(tokens.idToken === undefined ? {} : { idToken: tokens.idToken }),
    }
    const problem = label === undefined || label === "" ? undefined : labelProblem(label)
    if (problem !== undefined) return yield* new CommandRefused({ message: problem })
    const added = yield* store.modify((doc) => {
      const existed = doc.accounts.some(
        (a) => sameIdentity(a, account) || (a.id === account.id && a.userId === undefined),
      )
      const taken = label === undefined || label === "" ? undefined : labelTaken(doc, label, keyOf(account))
      if (taken !== undefined) return Effect.fail(new CommandRefused({ message: taken }))
      const next = upsertAccount(doc, account)
      // a fresh login is the cure for "needs re-login" and says nothing about exhaustion
      const accounts = next.accounts.map((a) => {
        if (!sameIdentity(a, account)) return a
        const { needsReloginReason: _r, exhaustedUntil: _e, ...rest } = a
        return { ...rest, state: "active" as const }
      })
      return Effect.succeed([!existed, { ...next, accounts }] as const)
    })
    const view = accountViews(yield* store.read, now).find((v) => v.key === keyOf(account)) as AccountView
    const who = `${displayName(view)} (${printableLine([view.key, view.plan, view.email].filter((x) => x !== undefined).join(", "))})`
    return {
      summary: added ? `added fallback account ${who}` : `updated fallback account ${who}`,
      data: { added, account: view },
    } satisfies CommandResult<{ readonly added: boolean; readonly account: AccountView }>
  })

  const switchAccount = Effect.fn("Commands.switchAccount")(function* (name: string) {
    const key = yield* store.modify((doc) =>
      Effect.map(resolveKey(doc, name), (key) => [key, { ...doc, activeAccount: key }] as const),
    )
    return {
      summary:
        key === MAIN
          ? "switched back to the main account"
          : `switched to ${printableLine(name)} (${printableLine(key)}); the main login is untouched`,
      data: { activeAccount: key },
    }
  })

  const removeAccount = Effect.fn("Commands.removeAccount")(function* (name: string) {
    const removed = yield* store.modify((doc) =>
      Effect.map(fallbackByName(doc, name, "remove"), ({ key, account }) => {
        const { [key]: _dropped, ...quota } = doc.quota
        const next: StoreDocument = {
          ...doc,
          accounts: doc.accounts.filter((a) => keyOf(a) !== key),
          quota,
        }
        const { activeAccount: _active, ...withoutActive } = next
        return [{ key, label: account.label }, doc.activeAccount === key ? withoutActive : next] as const
      }),
    )
    return { summary: `removed fallback account ${printableLine(removed.label ?? removed.key)}`, data: removed }
  })

  const orderAccounts = Effect.fn("Commands.orderAccounts")(function* (first: string, second: string) {
    const order = yield* store.modify((doc) =>
      Effect.gen(function* () {
        const a = yield* fallbackByName(doc, first, "reorder")
        const b = yield* fallbackByName(doc, second, "reorder")
        if (a.key === b.key) {
          return yield* new CommandRefused({
            message: `order swaps two different accounts; "${printableLine(first)}" and "${printableLine(second)}" are both ${printableLine(a.key)}`,
          })
        }
        const accounts = [...doc.accounts]
        accounts[a.index] = b.account
        accounts[b.index] = a.account
        return [accounts.map(keyOf), { ...doc, accounts }] as const
      }),
    )
    return {
      summary: `swapped ${printableLine(first)} and ${printableLine(second)}; fallback order: ${printableLine(order.join(", "))}`,
      data: { order },
    }
  })

  const settings = yield* makeSettingsCommands

  const quota = Effect.fn("Commands.quota")(function* () {
    const poller = yield* Effect.serviceOption(QuotaPoller)
    const polled = Option.isSome(poller) ? yield* poller.value.pollAll : []
    const list = yield* listAccounts()
    const failed = polled.filter((p) => !p.ok)
    const data: QuotaData = { ...list.data, polled }
    const summary =
      failed.length === 0 ? list.summary : `${list.summary}; ${failed.length} of ${polled.length} polls failed`
    return { summary, data } satisfies CommandResult<QuotaData>
  })

  return {
    listAccounts,
    addAccount,
    switchAccount,
    removeAccount,
    orderAccounts,
    ...settings,
    quota,
  }
})

export type CommandsShape = Effect.Success<typeof make>

export class Commands extends Context.Service<Commands, CommandsShape>()("@cortexkit/openai-auth-accounts/Commands") {
  static readonly layer: Layer.Layer<Commands, never, Store> = Layer.effect(Commands, make)
}

/**
 * Applies a parsed command. `account add` needs the host's login flow: without `hooks.login` it is refused.
 * `quota` polls when a `QuotaPoller` is provided, else shows the cached readings.
 */
export const runCommand = <E = never>(
  command: Command,
  hooks?: Partial<LoginHook<E>>,
): Effect.Effect<CommandResult<unknown>, CommandError | E, Commands> =>
  Effect.gen(function* () {
    const c = yield* Commands
    switch (command._tag) {
      case "QuotaShow":
        return yield* c.quota()
      case "AccountList":
        return yield* c.listAccounts()
      case "AccountAdd": {
        if (hooks?.login === undefined) {
          return yield* new CommandRefused({ message: "adding an account needs a login flow; use openai-auth login" })
        }
        const tokens = yield* hooks.login({ label: command.label, headless: command.headless })
        return yield* c.addAccount(tokens, command.label)
      }
      case "AccountSwitch":
        return yield* c.switchAccount(command.account)
      case "AccountRemove":
        return yield* c.removeAccount(command.account)
      case "AccountOrder":
        return yield* c.orderAccounts(command.first, command.second)
      case "RoutingShow":
        return yield* c.routingShow()
      case "RoutingSet":
        return yield* c.routingSet(command.mode)
      case "KillswitchShow":
        return yield* c.killswitchShow()
      case "KillswitchEnable":
        return yield* c.killswitchEnable(command.enabled)
      case "KillswitchSet":
        return yield* c.killswitchSet(command.thresholds)
      case "CacheKeepShow":
        return yield* c.cacheKeepShow()
      case "CacheKeepEnable":
        return yield* c.cacheKeepEnable(command.enabled)
      case "CacheKeepSubagents":
        return yield* c.cacheKeepSubagents(command.enabled)
      case "LoggingShow":
        return yield* c.loggingShow()
      case "LoggingSet":
        return yield* c.loggingSet(command.level)
      case "DumpShow":
        return yield* c.dumpShow()
      case "DumpEnable":
        return yield* c.dumpEnable(command.enabled)
    }
  })
