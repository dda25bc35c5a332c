/**
 * Which accounts may serve the next request, and in what order. Pure: the routed client feeds it the
 * store's accounts, the quota cache and the clock, and gets back the candidates to try plus, for each
 * account left out, the reason (shown by `/openai-quota` and `openai-auth list`).
 *
 * Rules: the switch target (`active`) goes first; then `main-first` puts the main account before the
 * fallbacks (in their stored order) and `fallback-first` after them. An account is skipped while it needs a
 * re-login, while it is exhausted (until its reset), or while the killswitch is on and a window's remaining
 * quota is below the account's threshold. A reading whose window has already reset, or no reading at all,
 * never blocks: unknown quota fails open.
 */
import type { QuotaSnapshot, QuotaWindow } from "@cortexkit/openai-auth-core/Quota"

import { MAIN } from "./AccountKey.ts"

export { MAIN }

export type RoutingMode = "main-first" | "fallback-first"

export interface Threshold {
  /** block when the 5h window has less than this many percent left */
  readonly fiveHour: number
  /** block when the weekly window has less than this many percent left */
  readonly weekly: number
}

export interface KillswitchPolicy {
  readonly enabled: boolean
  /** per account key (`main` or a fallback's key); `*` applies to accounts without their own entry */
  readonly thresholds: Readonly<Record<string, Threshold>>
}

export interface RoutingAccount {
  /** `main`, or the fallback account's store key */
  readonly key: string
  readonly needsRelogin: boolean
  /** epoch ms until which the account answered `usage_limit_reached` */
  readonly exhaustedUntil?: number | undefined
  readonly quota?: QuotaSnapshot | undefined
}

export interface RoutingPolicy {
  readonly mode: RoutingMode
  /** a non-destructive switch: this account key is tried first */
  readonly active?: string | undefined
  readonly killswitch: KillswitchPolicy
}

export type SkipReason =
  | { readonly _tag: "NeedsRelogin" }
  | { readonly _tag: "Exhausted"; readonly until: number }
  | {
      readonly _tag: "Killswitch"
      readonly window: "fiveHour" | "weekly"
      readonly remainingPercent: number
      readonly threshold: number
      readonly resetsAt?: number | undefined
    }

export interface Skipped<A extends RoutingAccount> {
  readonly account: A
  readonly reason: SkipReason
}

export interface Selection<A extends RoutingAccount> {
  readonly candidates: ReadonlyArray<A>
  readonly skipped: ReadonlyArray<Skipped<A>>
  /** when every account is gated: the earliest moment one of them becomes usable again (epoch ms) */
  readonly retryAt?: number | undefined
}

/** The account order before any gating: switch target, then the routing mode's order. */
export const orderAccounts = <A extends RoutingAccount>(
  accounts: ReadonlyArray<A>,
  policy: Pick<RoutingPolicy, "mode" | "active">,
): ReadonlyArray<A> => {
  const main = accounts.filter((a) => a.key === MAIN)
  const fallbacks = accounts.filter((a) => a.key !== MAIN)
  const ordered = policy.mode === "main-first" ? [...main, ...fallbacks] : [...fallbacks, ...main]
  const active = policy.active === undefined ? undefined : ordered.find((a) => a.key === policy.active)
  return active === undefined ? ordered : [active, ...ordered.filter((a) => a !== active)]
}

/** The window is known and still running at `now`; a reading past its reset says nothing any more. */
const liveWindow = (window: QuotaWindow | undefined, now: number): QuotaWindow | undefined =>
  window === undefined || (window.resetsAt !== undefined && window.resetsAt <= now) ? undefined : window

export const thresholdFor = (policy: KillswitchPolicy, key: string): Threshold | undefined =>
  policy.thresholds[key] ?? policy.thresholds["*"]

/** Why the killswitch blocks this account now, or undefined when it does not. */
export const killswitchGate = (
  account: RoutingAccount,
  policy: KillswitchPolicy,
  now: number,
): Extract<SkipReason, { _tag: "Killswitch" }> | undefined => {
  if (!policy.enabled || account.quota === undefined) return undefined
  const threshold = thresholdFor(policy, account.key)
  if (threshold === undefined) return undefined
  for (const name of ["fiveHour", "weekly"] as const) {
    const window = liveWindow(account.quota[name], now)
    if (window === undefined) continue
    const remainingPercent = Math.max(0, 100 - window.usedPercent)
    if (remainingPercent < threshold[name]) {
      return {
        _tag: "Killswitch",
        window: name,
        remainingPercent,
        threshold: threshold[name],
        resetsAt: window.resetsAt,
      }
    }
  }
  return undefined
}

export const skipReason = (account: RoutingAccount, policy: RoutingPolicy, now: number): SkipReason | undefined => {
  if (account.needsRelogin) return { _tag: "NeedsRelogin" }
  if (account.exhaustedUntil !== undefined && account.exhaustedUntil > now) {
    return { _tag: "Exhausted", until: account.exhaustedUntil }
  }
  return killswitchGate(account, policy.killswitch, now)
}

const reasonEnds = (reason: SkipReason): number | undefined =>
  reason._tag === "Exhausted" ? reason.until : reason._tag === "Killswitch" ? reason.resetsAt : undefined

export const selectAccounts = <A extends RoutingAccount>(
  accounts: ReadonlyArray<A>,
  policy: RoutingPolicy,
  now: number,
): Selection<A> => {
  const candidates: Array<A> = []
  const skipped: Array<Skipped<A>> = []
  for (const account of orderAccounts(accounts, policy)) {
    const reason = skipReason(account, policy, now)
    if (reason === undefined) candidates.push(account)
    else skipped.push({ account, reason })
  }
  if (candidates.length > 0) return { candidates, skipped }
  const ends = skipped.map((s) => reasonEnds(s.reason)).filter((t): t is number => t !== undefined)
  return { candidates, skipped, retryAt: ends.length > 0 ? Math.min(...ends) : undefined }
}

/** `set main:5,10 work:5,10` → thresholds; a clear message for the first malformed entry. */
export const parseThresholds = (
  entries: ReadonlyArray<string>,
):
  | { readonly ok: true; readonly value: Record<string, Threshold> }
  | { readonly ok: false; readonly error: string } => {
  const value: Record<string, Threshold> = {}
  if (entries.length === 0) return { ok: false, error: "expected at least one <account>:<5h>,<1w> entry" }
  for (const entry of entries) {
    const match = /^([^:\s]+):(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)$/.exec(entry)
    if (match === null) return { ok: false, error: `"${entry}" is not <account>:<5h>,<1w> (e.g. main:5,10)` }
    const [, key, five, week] = match as unknown as [string, string, string, string]
    const fiveHour = Number(five)
    const weekly = Number(week)
    if (fiveHour > 100 || weekly > 100) return { ok: false, error: `"${entry}": percentages go from 0 to 100` }
    // an own property even for `__proto__`: the name is whatever the user typed
    Object.defineProperty(value, key, {
      value: { fiveHour, weekly },
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return { ok: true, value }
}
