/**
 * Plain-text rendering shared by the CLI and the TUI dialogs: account names, states, quota windows and
 * aligned tables. Pure: the caller passes `now`, so the same view renders the same text in tests. Text that
 * came from outside (a label, an email or plan from a token) is rendered with its control characters
 * escaped (core Printable).
 */
import { printableLine } from "@cortexkit/openai-auth-core/Printable"
import type { QuotaWindow } from "@cortexkit/openai-auth-core/Quota"

/** What `listAccounts` reports for one account (main or fallback); JSON-friendly for `--json`. */
export interface AccountView {
  /** `main`, or the fallback's store key (`<account id>` or `<account id>/<user id>`) */
  readonly key: string
  readonly kind: "main" | "fallback"
  readonly id?: string | undefined
  readonly userId?: string | undefined
  readonly label?: string | undefined
  readonly email?: string | undefined
  readonly plan?: string | undefined
  /** 1-based fallback order; absent for main */
  readonly position?: number | undefined
  /** the `switch` target */
  readonly active: boolean
  /** main only: whether the host holds a ChatGPT login (absent when unknown) */
  readonly loggedIn?: boolean | undefined
  readonly state: AccountStateName
  readonly needsReloginReason?: string | undefined
  /** epoch ms */
  readonly exhaustedUntil?: number | undefined
  readonly killswitch?: KillswitchView | undefined
  readonly quotaKnown: boolean
  readonly quota?: QuotaView | undefined
}

export type AccountStateName = "active" | "needs-relogin" | "exhausted" | "killswitch" | "not-logged-in"

export interface KillswitchView {
  readonly window: "fiveHour" | "weekly"
  readonly remainingPercent: number
  readonly threshold: number
  readonly resetsAt?: number | undefined
}

export interface WindowView {
  readonly usedPercent: number
  readonly resetsAt?: number | undefined
}

export interface QuotaView {
  /** epoch ms of the reading */
  readonly observedAt: number
  readonly source: string
  readonly fiveHour?: WindowView | undefined
  readonly weekly?: WindowView | undefined
  readonly limitReached?: boolean | undefined
}

export const windowView = (window: QuotaWindow | undefined): WindowView | undefined =>
  window === undefined
    ? undefined
    : window.resetsAt === undefined
      ? { usedPercent: window.usedPercent }
      : { usedPercent: window.usedPercent, resetsAt: window.resetsAt }

/** How a user names the account: `main`, else its label, else its key (printable: see the module comment). */
export const displayName = (view: Pick<AccountView, "key" | "label" | "kind">): string =>
  view.kind === "main" ? "main" : printableLine(view.label ?? view.key)

export const formatPercent = (value: number): string => `${Math.round(value * 10) / 10}%`

/** `45s`, `12m`, `2h 05m`, `3d 4h` */
export const formatDuration = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, "0")}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}

export const formatReset = (resetsAt: number | undefined, now: number): string =>
  resetsAt === undefined ? "-" : resetsAt <= now ? "reset" : `in ${formatDuration(resetsAt - now)}`

const windowName = (window: "fiveHour" | "weekly") => (window === "fiveHour" ? "5h" : "weekly")

export const formatState = (view: AccountView, now: number): string => {
  switch (view.state) {
    case "active":
      return view.quotaKnown ? "active" : "active (quota unknown)"
    case "not-logged-in":
      return "not logged in"
    case "needs-relogin":
      return "needs re-login"
    case "exhausted":
      return `exhausted, resets ${formatReset(view.exhaustedUntil, now)}`
    case "killswitch": {
      const k = view.killswitch
      return k === undefined
        ? "killswitch"
        : `killswitch: ${windowName(k.window)} ${formatPercent(k.remainingPercent)} left < ${formatPercent(k.threshold)}`
    }
  }
}

/** Column-aligned rows; the last column is not padded. */
export const formatTable = (cells: ReadonlyArray<ReadonlyArray<string>>): string => {
  const rows = cells.map((row) => row.map(printableLine))
  const widths: Array<number> = []
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length)
    })
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i] ?? 0)))
        .join("  ")
        .trimEnd(),
    )
    .join("\n")
}

const used = (w: WindowView | undefined) => (w === undefined ? "-" : formatPercent(w.usedPercent))

export const formatAccounts = (views: ReadonlyArray<AccountView>, now: number): string =>
  formatTable([
    ["ACCOUNT", "ID", "PLAN", "EMAIL", "5H", "WEEKLY", "STATE"],
    ...views.map((v) => [
      `${v.active ? "*" : " "}${displayName(v)}`,
      v.kind === "main" ? "-" : v.key,
      v.plan ?? "-",
      v.email ?? "-",
      used(v.quota?.fiveHour),
      used(v.quota?.weekly),
      formatState(v, now),
    ]),
  ])

export interface PollFailureView {
  readonly key: string
  readonly message: string
}

export const formatQuota = (
  views: ReadonlyArray<AccountView>,
  failures: ReadonlyArray<PollFailureView>,
  now: number,
): string => {
  const failed = new Map(failures.map((f) => [f.key, f.message]))
  return formatTable([
    ["ACCOUNT", "5H USED", "5H RESETS", "WEEKLY USED", "WEEKLY RESETS", "STATE"],
    ...views.map((v) => [
      `${v.active ? "*" : " "}${displayName(v)}`,
      used(v.quota?.fiveHour),
      formatReset(v.quota?.fiveHour?.resetsAt, now),
      used(v.quota?.weekly),
      formatReset(v.quota?.weekly?.resetsAt, now),
      failed.has(v.key) ? `${formatState(v, now)}; poll failed: ${failed.get(v.key)}` : formatState(v, now),
    ]),
  ])
}
