/**
 * The bodies of every account-management command, shared by the TUI slash commands, the server's command
 * hook and the `openai-auth` CLI. Each is a plain read-modify-write on the store (under its lock, so names
 * are resolved against the file as it is now) and returns a one-line summary plus structured data for
 * `--json` and dialogs. Optional services widen what a command can show: `MainCredentials` (is main logged
 * in?), `StateFile` (keep-warm status), `Logger` (apply a level live), `QuotaPoller` (fresh quota).
 */

import { Logger } from "@cortexkit/openai-auth-core/Logger"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { parseBoolean } from "@cortexkit/openai-auth-core/Settings"
import { Clock, Context, Effect, Layer, Option, Schema } from "effect"
import { findAccount, keyOf, MAIN, sameIdentity } from "./AccountKey.ts"
import type { Command, LogLevelName } from "./CommandSyntax.ts"
import { MainCredentials } from "./Credentials.ts"
import {
  type AccountView,
  displayName,
  formatDuration,
  formatPercent,
  formatState,
  type KillswitchView,
  type QuotaView,
  windowView,
} from "./Format.ts"
import { type PollOutcome, QuotaPoller } from "./QuotaPoller.ts"
import { type RoutingMode, skipReason, type Threshold } from "./Routing.ts"
import { StateFile } from "./StateFile.ts"
import { Store, type StoreError } from "./Store.ts"
import { type Account, type StoreDocument, upsertAccount } from "./StoreSchema.ts"

export class UnknownAccount extends Schema.TaggedError<UnknownAccount>()("UnknownAccount", {
  name: Schema.String,
  known: Schema.Array(Schema.String),
  message: Schema.String,
}) {}

/** The command is well-formed but cannot be applied (e.g. removing `main`). */
export class CommandRefused extends Schema.TaggedError<CommandRefused>()("CommandRefused", {
  message: Schema.String,
}) {}

export type CommandError = UnknownAccount | CommandRefused | StoreError

export interface CommandResult<A> {
  /** one line for a toast or the CLI */
  readonly summary: string
  readonly data: A
}

/** The store's `main` entry (added by Credentials); read structurally so older documents still work. */
interface MainEntry {
  readonly state?: "active" | "needs-relogin"
  readonly needsReloginReason?: string
  readonly exhaustedUntil?: number
}
const mainEntry = (doc: StoreDocument): MainEntry | undefined => (doc as { readonly main?: MainEntry }).main

const nameOf = (a: Account) => (a.label === undefined ? keyOf(a) : `${a.label} (${keyOf(a)})`)

export const knownNames = (doc: StoreDocument): Array<string> => [MAIN, ...doc.accounts.map(nameOf)]

const unknown = (doc: StoreDocument, name: string, why = "no account named") =>
  new UnknownAccount({
    name,
    known: knownNames(doc),
    message: `${why} "${name}"; known accounts: ${knownNames(doc).join(", ")}`,
  })

/** `main`, or the key of the fallback named by key, account id or label. */
export const resolveKey = (doc: StoreDocument, name: string): Effect.Effect<string, UnknownAccount> => {
  if (name === MAIN) return Effect.succeed(MAIN)
  const found = findAccount(doc.accounts, name)
  if (found !== undefined) return Effect.succeed(keyOf(found))
  const sharing = doc.accounts.filter((a) => a.id === name)
  return Effect.fail(
    unknown(doc, name, sharing.length > 1 ? "more than one account (different users) has the id" : "no account named"),
  )
}

const fallbackByName = (doc: StoreDocument, name: string, action: string) =>
  Effect.gen(function* () {
    const key = yield* resolveKey(doc, name)
    if (key === MAIN) {
      return yield* new CommandRefused({
        message: `cannot ${action} the main account: it is OpenCode's own login (/login openai)`,
      })
    }
    const index = doc.accounts.findIndex((a) => keyOf(a) === key)
    return { key, index, account: doc.accounts[index] as Account }
  })

const quotaView = (doc: StoreDocument, key: string): QuotaView | undefined => {
  const q = doc.quota[key]
  if (q === undefined) return undefined
  return {
    observedAt: q.observedAt,
    source: q.source,
    fiveHour: windowView(q.fiveHour),
    weekly: windowView(q.weekly),
    limitReached: q.limitReached,
  }
}

const viewState = (
  doc: StoreDocument,
  key: string,
  needsRelogin: boolean,
  exhaustedUntil: number | undefined,
  now: number,
): Pick<AccountView, "state" | "exhaustedUntil" | "killswitch"> => {
  const reason = skipReason(
    { key, needsRelogin, exhaustedUntil, quota: doc.quota[key] },
    { mode: doc.routing, killswitch: doc.killswitch },
    now,
  )
  if (reason === undefined) return { state: "active" }
  switch (reason._tag) {
    case "NeedsRelogin":
      return { state: "needs-relogin" }
    case "Exhausted":
      return { state: "exhausted", exhaustedUntil: reason.until }
    case "Killswitch": {
      const killswitch: KillswitchView = {
        window: reason.window,
        remainingPercent: reason.remainingPercent,
        threshold: reason.threshold,
        resetsAt: reason.resetsAt,
      }
      return { state: "killswitch", killswitch }
    }
  }
}

export const accountViews = (doc: StoreDocument, now: number, mainLoggedIn?: boolean): Array<AccountView> => {
  const main = mainEntry(doc)
  const mainState = viewState(doc, MAIN, main?.state === "needs-relogin", main?.exhaustedUntil, now)
  const mainView: AccountView = {
    key: MAIN,
    kind: "main",
    active: doc.activeAccount === MAIN,
    loggedIn: mainLoggedIn,
    ...mainState,
    ...(mainLoggedIn === false ? { state: "not-logged-in" as const } : {}),
    needsReloginReason: main?.needsReloginReason,
    plan: doc.quota[MAIN]?.planType,
    quotaKnown: doc.quota[MAIN] !== undefined,
    quota: quotaView(doc, MAIN),
  }
  const fallbacks = doc.accounts.map((a, i): AccountView => {
    const key = keyOf(a)
    return {
      key,
      kind: "fallback",
      id: a.id,
      userId: a.userId,
      label: a.label,
      email: a.email,
      plan: a.plan ?? doc.quota[key]?.planType,
      position: i + 1,
      active: doc.activeAccount === key,
      ...viewState(doc, key, a.state === "needs-relogin", a.exhaustedUntil, now),
      needsReloginReason: a.needsReloginReason,
      quotaKnown: doc.quota[key] !== undefined,
      quota: quotaView(doc, key),
    }
  })
  return [mainView, ...fallbacks]
}

export interface AccountsData {
  readonly routing: RoutingMode
  readonly activeAccount?: string | undefined
  readonly killswitch: boolean
  readonly accounts: ReadonlyArray<AccountView>
}

export interface QuotaData extends AccountsData {
  readonly polled: ReadonlyArray<PollOutcome>
}

export interface KillswitchData {
  readonly enabled: boolean
  readonly thresholds: Readonly<Record<string, Threshold>>
}

export interface CacheKeepData {
  readonly enabled: boolean
  readonly subagents: boolean
  readonly tracked?: number | undefined
  readonly lastWarm?:
    | {
        readonly at: number
        readonly cachedTokens: number
        readonly inputTokens: number
        readonly outputTokens: number
      }
    | undefined
}

const onOff = (b: boolean) => (b ? "on" : "off")
const flag = (value: boolean | string | null | undefined) =>
  typeof value === "boolean" ? value : typeof value === "string" ? (parseBoolean(value) ?? false) : false

const thresholdText = (key: string, t: Threshold) =>
  `${key}:${formatPercent(t.fiveHour)} 5h,${formatPercent(t.weekly)} weekly`

export interface LoginHook<E> {
  /** runs the OAuth flow the host offers (browser dialog, device code) and returns the new tokens */
  readonly login: (options: {
    readonly label?: string | undefined
    readonly headless: boolean
  }) => Effect.Effect<TokenSet, E>
}

export const make = Effect.gen(function* () {
  const store = yield* Store

  const update = <A>(
    f: (doc: StoreDocument) => Effect.Effect<{ readonly doc: StoreDocument; readonly out: A }, CommandError>,
  ) =>
    Effect.gen(function* () {
      let out: A | undefined
      yield* store.update((doc) =>
        Effect.map(f(doc), (r) => {
          out = r.out
          return r.doc
        }),
      )
      return out as A
    })

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

  const addAccount = Effect.fn("Commands.addAccount")(function* (tokens: TokenSet, label?: string) {
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
    const added = yield* update((doc) => {
      const existed = doc.accounts.some(
        (a) => sameIdentity(a, account) || (a.id === account.id && a.userId === undefined),
      )
      const next = upsertAccount(doc, account)
      // a fresh login is the cure for "needs re-login" and says nothing about exhaustion
      const accounts = next.accounts.map((a) => {
        if (!sameIdentity(a, account)) return a
        const { needsReloginReason: _r, exhaustedUntil: _e, ...rest } = a
        return { ...rest, state: "active" as const }
      })
      return Effect.succeed({ doc: { ...next, accounts }, out: !existed })
    })
    const view = accountViews(yield* store.read, now).find((v) => v.key === keyOf(account)) as AccountView
    const who = `${displayName(view)} (${[view.key, view.plan, view.email].filter((x) => x !== undefined).join(", ")})`
    return {
      summary: added ? `added fallback account ${who}` : `updated fallback account ${who}`,
      data: { added, account: view },
    } satisfies CommandResult<{ readonly added: boolean; readonly account: AccountView }>
  })

  const switchAccount = Effect.fn("Commands.switchAccount")(function* (name: string) {
    const key = yield* update((doc) =>
      Effect.map(resolveKey(doc, name), (key) => ({ doc: { ...doc, activeAccount: key }, out: key })),
    )
    return {
      summary:
        key === MAIN
          ? "switched back to the main account"
          : `switched to ${name} (${key}); the main login is untouched`,
      data: { activeAccount: key },
    }
  })

  const removeAccount = Effect.fn("Commands.removeAccount")(function* (name: string) {
    const removed = yield* update((doc) =>
      Effect.map(fallbackByName(doc, name, "remove"), ({ key, account }) => {
        const { [key]: _dropped, ...quota } = doc.quota
        const next: StoreDocument = {
          ...doc,
          accounts: doc.accounts.filter((a) => keyOf(a) !== key),
          quota,
        }
        const { activeAccount: _active, ...withoutActive } = next
        return { doc: doc.activeAccount === key ? withoutActive : next, out: { key, label: account.label } }
      }),
    )
    return { summary: `removed fallback account ${removed.label ?? removed.key}`, data: removed }
  })

  const orderAccounts = Effect.fn("Commands.orderAccounts")(function* (first: string, second: string) {
    const order = yield* update((doc) =>
      Effect.gen(function* () {
        const a = yield* fallbackByName(doc, first, "reorder")
        const b = yield* fallbackByName(doc, second, "reorder")
        const accounts = [...doc.accounts]
        accounts[a.index] = b.account
        accounts[b.index] = a.account
        return { doc: { ...doc, accounts }, out: accounts.map(keyOf) }
      }),
    )
    return { summary: `swapped ${first} and ${second}; fallback order: ${order.join(", ")}`, data: { order } }
  })

  const routingShow = Effect.fn("Commands.routingShow")(function* () {
    const doc = yield* store.read
    return { summary: `routing: ${doc.routing}`, data: { routing: doc.routing } }
  })

  const routingSet = Effect.fn("Commands.routingSet")(function* (mode: RoutingMode) {
    yield* store.update((doc) => ({ ...doc, routing: mode }))
    return { summary: `routing set to ${mode}`, data: { routing: mode } }
  })

  const killswitchResult = (doc: StoreDocument, prefix: string): CommandResult<KillswitchData> => {
    const entries = Object.entries(doc.killswitch.thresholds)
    const list = entries.length === 0 ? "no thresholds" : entries.map(([k, t]) => thresholdText(k, t)).join(" ")
    return {
      summary: `${prefix}killswitch ${onOff(doc.killswitch.enabled)}; ${list}`,
      data: { enabled: doc.killswitch.enabled, thresholds: doc.killswitch.thresholds },
    }
  }

  const killswitchShow = Effect.fn("Commands.killswitchShow")(function* () {
    return killswitchResult(yield* store.read, "")
  })

  const killswitchEnable = Effect.fn("Commands.killswitchEnable")(function* (enabled: boolean) {
    const doc = yield* store.update((d) => ({ ...d, killswitch: { ...d.killswitch, enabled } }))
    return killswitchResult(doc, enabled ? "turned on: " : "turned off: ")
  })

  const killswitchSet = Effect.fn("Commands.killswitchSet")(function* (
    thresholds: Readonly<Record<string, Threshold>>,
  ) {
    const doc = yield* store.update((d) =>
      Effect.gen(function* () {
        const next: Record<string, Threshold> = { ...d.killswitch.thresholds }
        for (const [name, threshold] of Object.entries(thresholds)) {
          next[name === "*" ? "*" : yield* resolveKey(d, name)] = threshold
        }
        return { ...d, killswitch: { ...d.killswitch, thresholds: next } }
      }),
    )
    return killswitchResult(doc, "thresholds set: ")
  })

  const cacheKeepResult = Effect.fnUntraced(function* (doc: StoreDocument, prefix: string) {
    const state = yield* Effect.serviceOption(StateFile)
    const keepWarm = Option.isSome(state) ? (yield* state.value.read).keepWarm : undefined
    const now = yield* Clock.currentTimeMillis
    const { enabled, subagents } = doc.cacheKeep
    const parts = [`${prefix}cache keep-warm ${onOff(enabled)}`, `subagents ${onOff(subagents)}`]
    if (keepWarm !== undefined) parts.push(`${keepWarm.tracked} sessions tracked`)
    const last = keepWarm?.lastWarm
    if (last !== undefined) {
      parts.push(
        `last warm ${formatDuration(now - last.at)} ago: ${last.cachedTokens}/${last.inputTokens} input tokens cached, ${last.outputTokens} output`,
      )
    }
    const data: CacheKeepData = { enabled, subagents, tracked: keepWarm?.tracked, lastWarm: last }
    return { summary: parts.join(", "), data } satisfies CommandResult<CacheKeepData>
  })

  const cacheKeepShow = Effect.fn("Commands.cacheKeepShow")(function* () {
    return yield* cacheKeepResult(yield* store.read, "")
  })

  const cacheKeepEnable = Effect.fn("Commands.cacheKeepEnable")(function* (enabled: boolean) {
    const doc = yield* store.update((d) => ({ ...d, cacheKeep: { ...d.cacheKeep, enabled } }))
    return yield* cacheKeepResult(doc, "")
  })

  const cacheKeepSubagents = Effect.fn("Commands.cacheKeepSubagents")(function* (subagents: boolean) {
    const doc = yield* store.update((d) => ({ ...d, cacheKeep: { ...d.cacheKeep, subagents } }))
    return yield* cacheKeepResult(doc, "")
  })

  const loggingShow = Effect.fn("Commands.loggingShow")(function* () {
    const doc = yield* store.read
    const logger = yield* Effect.serviceOption(Logger)
    const live = Option.isSome(logger) ? yield* logger.value.level : undefined
    const saved = doc.logLevel ?? undefined
    const level = live ?? saved ?? "info"
    return {
      summary: `log level: ${level}${saved === undefined ? " (default)" : ""}`,
      data: { level, saved },
    }
  })

  const loggingSet = Effect.fn("Commands.loggingSet")(function* (level: LogLevelName) {
    yield* store.update((doc) => ({ ...doc, logLevel: level }))
    const logger = yield* Effect.serviceOption(Logger)
    if (Option.isSome(logger)) yield* logger.value.setLevel(level)
    return { summary: `log level set to ${level}`, data: { level, saved: level } }
  })

  const dumpShow = Effect.fn("Commands.dumpShow")(function* () {
    const doc = yield* store.read
    const enabled = flag(doc.dump)
    return { summary: `request dumps ${onOff(enabled)}`, data: { enabled } }
  })

  const dumpEnable = Effect.fn("Commands.dumpEnable")(function* (enabled: boolean) {
    yield* store.update((doc) => ({ ...doc, dump: enabled }))
    return { summary: `request dumps turned ${onOff(enabled)}`, data: { enabled } }
  })

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
    routingShow,
    routingSet,
    killswitchShow,
    killswitchEnable,
    killswitchSet,
    cacheKeepShow,
    cacheKeepEnable,
    cacheKeepSubagents,
    loggingShow,
    loggingSet,
    dumpShow,
    dumpEnable,
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
