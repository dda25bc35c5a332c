import { HostIdentity, mainLoginOf } from "@cortexkit/openai-auth-core/HostIdentity"
import { printableLine } from "@cortexkit/openai-auth-core/Printable"
import { parseBoolean } from "@cortexkit/openai-auth-core/Settings"
import { Effect, Schema } from "effect"
import { keyOf, MAIN } from "./AccountKey.ts"
import { type AccountView, formatPercent, type KillswitchView, type QuotaView, windowView } from "./Format.ts"
import type { PollOutcome } from "./QuotaPoller.ts"
import { type RoutingMode, skipReason, type Threshold } from "./Routing.ts"
import type { StoreError } from "./Store.ts"
import type { Account, StoreDocument } from "./StoreSchema.ts"
export class UnknownAccount extends Schema.TaggedError<UnknownAccount>()("UnknownAccount", {
  name: Schema.String,
  known: Schema.Array(Schema.String),
  message: Schema.String,
}) {}

/** The name fits more than one account (a label two accounts share, an id two users share): never a guess. */
export class AmbiguousAccount extends Schema.TaggedError<AmbiguousAccount>()("AmbiguousAccount", {
  name: Schema.String,
  matches: Schema.Array(Schema.String),
  message: Schema.String,
}) {}

/** The command is well-formed but cannot be applied (e.g. removing `main`). */
export class CommandRefused extends Schema.TaggedError<CommandRefused>()("CommandRefused", {
  message: Schema.String,
}) {}

export type CommandError = UnknownAccount | AmbiguousAccount | CommandRefused | StoreError

export interface CommandResult<A> {
  /** one line for a toast or the CLI */
  readonly summary: string
  readonly data: A
}

/** The store's `main` entry (added by Credentials); read structurally so older documents still work. */
export interface MainEntry {
  readonly state?: "active" | "needs-relogin"
  readonly needsReloginReason?: string
  readonly exhaustedUntil?: number
}
export const mainEntry = (doc: StoreDocument): MainEntry | undefined => (doc as { readonly main?: MainEntry }).main

export const nameOf = (a: Account) => (a.label === undefined ? keyOf(a) : `${a.label} (${keyOf(a)})`)

export const knownNames = (doc: StoreDocument): Array<string> => [MAIN, ...doc.accounts.map(nameOf)]

export const unknown = (doc: StoreDocument, name: string) =>
  new UnknownAccount({
    name,
    known: knownNames(doc),
    message: `no account named "${printableLine(name)}"; known accounts: ${printableLine(knownNames(doc).join(", "))}`,
  })

/**
 * `main`, or the key of the fallback named by its key (unique), or by its account id or label when exactly
 * one account has it. A name two accounts answer to is an error naming both, never the first of them.
 */
export const resolveKey = (
  doc: StoreDocument,
  name: string,
): Effect.Effect<string, UnknownAccount | AmbiguousAccount> => {
  if (name === MAIN) return Effect.succeed(MAIN)
  const byKey = doc.accounts.find((a) => keyOf(a) === name)
  if (byKey !== undefined) return Effect.succeed(keyOf(byKey))
  const matches = doc.accounts.filter((a) => a.id === name || a.label === name)
  const [only] = matches
  if (matches.length === 1 && only !== undefined) return Effect.succeed(keyOf(only))
  if (matches.length === 0) return Effect.fail(unknown(doc, name))
  const names = matches.map(nameOf)
  return Effect.fail(
    new AmbiguousAccount({
      name,
      matches: matches.map(keyOf),
      message: `"${printableLine(name)}" names more than one account: ${printableLine(names.join(", "))}; use the account's key instead`,
    }),
  )
}

/**
 * Why `label` cannot name the account `key` (or a new one, `key` undefined): another account already answers
 * to it as its label, id or key. Undefined when it is free.
 */
export const labelTaken = (doc: StoreDocument, label: string, key?: string): string | undefined => {
  const other = doc.accounts.find(
    (a) => keyOf(a) !== key && (a.label === label || a.id === label || keyOf(a) === label),
  )
  return other === undefined
    ? undefined
    : `the label "${printableLine(label)}" is already how account ${printableLine(nameOf(other))} is named; choose another`
}

export const fallbackByName = (doc: StoreDocument, name: string, action: string) =>
  Effect.gen(function* () {
    const key = yield* resolveKey(doc, name)
    if (key === MAIN) {
      const login = mainLoginOf(yield* HostIdentity)
      return yield* new CommandRefused({
        message: `cannot ${action} the main account: it is ${login.host}'s own login (${login.command})`,
      })
    }
    const index = doc.accounts.findIndex((a) => keyOf(a) === key)
    return { key, index, account: doc.accounts[index] as Account }
  })

export const quotaView = (doc: StoreDocument, key: string): QuotaView | undefined => {
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

export const viewState = (
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

export const onOff = (b: boolean) => (b ? "on" : "off")
export const flag = (value: boolean | string | null | undefined) =>
  typeof value === "boolean" ? value : typeof value === "string" ? (parseBoolean(value) ?? false) : false

export const thresholdText = (key: string, t: Threshold) =>
  `${printableLine(key)}:${formatPercent(t.fiveHour)} 5h,${formatPercent(t.weekly)} weekly`
