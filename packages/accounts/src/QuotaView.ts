/**
 * Pure quota presentation for a host's quota display (OpenCode's sidebar and quota dialog, Pi's status line):
 * which account is in use, how much of each window is used, when it resets, and where the current burn rate
 * ends up at reset. The caller passes `now`.
 */

import type { QuotaSnapshot, QuotaWindow } from "@cortexkit/openai-auth-core/Quota"
import { keyOf, MAIN } from "./AccountKey.ts"
import { accountViews } from "./CommandViews.ts"
import type { AccountView, WindowView } from "./Format.ts"
import { displayName, formatDuration, formatPercent, formatState } from "./Format.ts"
import type { PollOutcome } from "./QuotaPoller.ts"
import type { StateDocument } from "./StateFile.ts"
import type { StoreDocument } from "./StoreSchema.ts"

export const FIVE_HOUR_MS = 300 * 60_000
export const WEEKLY_MS = 10_080 * 60_000

/** Below this share of the window elapsed a projection is mostly noise. */
export const MIN_ELAPSED_FRACTION = 0.02

export interface Pace {
  /** share of the window gone, 0..1 */
  readonly elapsedFraction: number
  /** used% the current rate reaches at reset */
  readonly projectedPercent: number
  /** ms from `now` until 100% at the current rate; only when that comes before the reset */
  readonly exhaustsInMs?: number | undefined
}

/**
 * Projects `usedPercent` to the end of the window at the average rate so far: used / elapsed fraction.
 * Undefined without a reset time, once the window has reset, or too early in the window to say.
 */
export const pace = (
  usedPercent: number,
  resetsAt: number | undefined,
  windowMs: number,
  now: number,
): Pace | undefined => {
  if (resetsAt === undefined || windowMs <= 0 || resetsAt <= now) return undefined
  const remaining = Math.min(resetsAt - now, windowMs)
  const elapsed = windowMs - remaining
  const elapsedFraction = elapsed / windowMs
  if (elapsedFraction < MIN_ELAPSED_FRACTION) return undefined
  const projectedPercent = usedPercent / elapsedFraction
  if (projectedPercent <= 100 || usedPercent <= 0) return { elapsedFraction, projectedPercent }
  const exhaustsInMs = Math.max(0, ((100 - usedPercent) / usedPercent) * elapsed)
  return { elapsedFraction, projectedPercent, exhaustsInMs }
}

/** `resets in 2h 05m`, `reset`, or `-` */
export const countdown = (resetsAt: number | undefined, now: number): string =>
  resetsAt === undefined ? "-" : resetsAt <= now ? "reset" : `resets in ${formatDuration(resetsAt - now)}`

export const formatPace = (p: Pace | undefined): string | undefined => {
  if (p === undefined) return undefined
  const projected = `on pace for ${formatPercent(Math.round(p.projectedPercent))}`
  return p.exhaustsInMs === undefined ? projected : `${projected}, out in ~${formatDuration(p.exhaustsInMs)}`
}

export interface SidebarWindow {
  /** `5h` or `weekly` */
  readonly label: string
  readonly usedPercent: number
  /** `43%` */
  readonly used: string
  readonly countdown: string
  readonly pace?: string | undefined
  /** projected past 100% before the reset, or already there */
  readonly warn: boolean
}

export interface SidebarModel {
  /** store key (`main` or a fallback key) */
  readonly key: string
  /** how the user names it */
  readonly name: string
  /** the account answered the last request (else it is only the switch target) */
  readonly served: boolean
  readonly windows: ReadonlyArray<SidebarWindow>
  readonly limitReached: boolean
  /** age of the reading, e.g. `2m` */
  readonly age: string
}

const windowLine = (label: string, w: QuotaWindow, fallbackMs: number, now: number): SidebarWindow => {
  const windowMs = w.windowMinutes > 0 ? w.windowMinutes * 60_000 : fallbackMs
  const p = pace(w.usedPercent, w.resetsAt, windowMs, now)
  return {
    label,
    usedPercent: w.usedPercent,
    used: formatPercent(Math.round(w.usedPercent)),
    countdown: countdown(w.resetsAt, now),
    pace: formatPace(p),
    warn: w.usedPercent >= 100 || p?.exhaustsInMs !== undefined,
  }
}

/** The account in use: the one that served last, else the switch target, else `main`. */
export const activeKey = (doc: Pick<StoreDocument, "activeAccount">, state: StateDocument): string =>
  state.lastServed?.key ?? doc.activeAccount ?? "main"

const nameFor = (doc: Pick<StoreDocument, "accounts">, key: string): string => {
  if (key === "main") return "main"
  const account = doc.accounts.find((a) => keyOf(a) === key)
  return account?.label ?? key
}

/** What the sidebar shows; `undefined` (hidden) while the active account has no quota reading yet. */
export const sidebarModel = (
  doc: Pick<StoreDocument, "activeAccount" | "accounts" | "quota">,
  state: StateDocument,
  now: number,
): SidebarModel | undefined => {
  const key = activeKey(doc, state)
  const q = doc.quota[key]
  if (q === undefined || (q.fiveHour === undefined && q.weekly === undefined)) return undefined
  const windows: Array<SidebarWindow> = []
  if (q.fiveHour !== undefined) windows.push(windowLine("5h", q.fiveHour, FIVE_HOUR_MS, now))
  if (q.weekly !== undefined) windows.push(windowLine("weekly", q.weekly, WEEKLY_MS, now))
  return {
    key,
    name: nameFor(doc, key),
    served: state.lastServed?.key === key,
    windows,
    limitReached: q.limitReached === true,
    age: formatDuration(Math.max(0, now - q.observedAt)),
  }
}

const windowText = (label: string, w: WindowView | undefined, now: number): string =>
  w === undefined
    ? `${label} -`
    : `${label} ${formatPercent(Math.round(w.usedPercent))} (${countdown(w.resetsAt, now)})`

export interface QuotaRow {
  readonly key: string
  /** `* main` for the switch target */
  readonly title: string
  /** `5h 43% (resets in 2h 05m) · weekly 12% (resets in 3d 4h) · active` */
  readonly description: string
}

/** One line per account (main first, then fallbacks in order) for the quota dialog. */
export const quotaRows = (views: ReadonlyArray<AccountView>, now: number): Array<QuotaRow> =>
  views.map((v) => ({
    key: v.key,
    title: `${v.active ? "* " : "  "}${displayName(v)}${v.plan === undefined ? "" : ` (${v.plan})`}`,
    description: [
      windowText("5h", v.quota?.fiveHour, now),
      windowText("weekly", v.quota?.weekly, now),
      formatState(v, now),
    ].join(" · "),
  }))

/** main, then every fallback in order: the accounts the quota dialog polls */
export const accountKeys = (doc: Pick<StoreDocument, "accounts">): Array<string> => [MAIN, ...doc.accounts.map(keyOf)]

/** Where one account's usage poll is while the quota dialog is open. */
export type PollState =
  | { readonly _tag: "Polling" }
  | { readonly _tag: "Answered"; readonly snapshot: QuotaSnapshot }
  | { readonly _tag: "Failed"; readonly phrase: string }

/** A failed poll in a few words (the full message is in the log). */
export const pollFailurePhrase = (outcome: Extract<PollOutcome, { readonly ok: false }>): string => {
  switch (outcome.reason) {
    case "NeedsRelogin":
      return outcome.message.startsWith("no ChatGPT login") ? "not logged in with ChatGPT" : "needs re-login"
    case "CredentialsUnavailable":
      return "no usable token right now"
    case "HttpError":
      return "usage endpoint unreachable"
    case "UsageStatus": {
      const status = /answered (\d{3})/.exec(outcome.message)?.[1]
      return status === "401" || status === "403"
        ? `usage endpoint refused the token (${status})`
        : `usage endpoint answered ${status ?? "an error"}`
    }
    case "UsageMalformed":
      return "unreadable usage answer"
    default:
      return outcome.reason
  }
}

export const pollState = (outcome: PollOutcome): PollState =>
  outcome.ok ? { _tag: "Answered", snapshot: outcome.snapshot } : { _tag: "Failed", phrase: pollFailurePhrase(outcome) }

export interface QuotaDialogModel {
  readonly title: string
  readonly rows: ReadonlyArray<QuotaRow>
}

/**
 * The quota dialog while polls answer: every account with what is known now (the stored readings, replaced
 * by each poll's answer as it comes), marked while its poll runs, and a failed poll's reason in a few words.
 */
export const quotaDialogModel = (
  doc: StoreDocument,
  polls: ReadonlyMap<string, PollState>,
  now: number,
  mainLoggedIn?: boolean,
): QuotaDialogModel => {
  const answered: Record<string, QuotaSnapshot> = {}
  for (const [key, state] of polls) if (state._tag === "Answered") answered[key] = state.snapshot
  const views = accountViews({ ...doc, quota: { ...doc.quota, ...answered } }, now, mainLoggedIn)
  const rows = quotaRows(views, now).map((row, i): QuotaRow => {
    const state = polls.get(row.key)
    if (state === undefined || state._tag === "Answered") return row
    const view = views[i] as AccountView
    // "quota unknown" is what the poll is fixing: while it runs, or once it failed, say that instead
    const unknown = view.state === "active" && !view.quotaKnown
    if (state._tag === "Failed") {
      const failed = `poll failed: ${state.phrase}`
      // the state may already say it ("needs re-login" once the refresh was refused)
      if (row.description.endsWith(state.phrase)) return row
      return { ...row, description: unknown ? failed : `${row.description} · ${failed}` }
    }
    const description = unknown
      ? [windowText("5h", undefined, now), windowText("weekly", undefined, now)].join(" · ")
      : row.description
    return { ...row, description: `${description} · refreshing…` }
  })
  const states = [...polls.values()]
  const pending = states.filter((s) => s._tag === "Polling").length
  const failed = states.filter((s) => s._tag === "Failed").length
  const title =
    pending > 0
      ? `OpenAI quota: refreshing ${states.length - pending} of ${states.length} answered…`
      : `OpenAI quota (routing ${doc.routing}; * = selected account)${failed === 0 ? "" : `: ${failed} of ${states.length} polls failed`}`
  return { title, rows }
}
