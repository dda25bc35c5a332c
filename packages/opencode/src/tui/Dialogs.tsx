/**
 * The seven account dialogs. Each reads the current state through the shared `Commands` bodies, applies the
 * choice through the same bodies (under the store's lock) and says what changed in a toast. Needs the host's
 * Solid runtime: only `tui.tsx` imports this file.
 */

import {
  type Command,
  type CommandName,
  LOG_LEVELS,
  parseCommand,
  splitArguments,
  USAGE,
} from "@cortexkit/openai-auth-accounts/CommandSyntax"
import type { CommandResult, CommandsShape } from "@cortexkit/openai-auth-accounts/Commands"
import { displayName, formatState } from "@cortexkit/openai-auth-accounts/Format"
import type { TuiDialogSelectOption, TuiDialogSelectProps, TuiPluginApi } from "@opencode-ai/plugin/tui"
import type { Effect } from "effect"
import type { QuotaPolls } from "./QuotaPolls.ts"
import { accountKeys, quotaDialogModel } from "./QuotaView.ts"
import type { Outcome, TuiRuntime } from "./Runtime.ts"

export interface DialogContext {
  readonly api: TuiPluginApi
  readonly runtime: TuiRuntime
  /** re-read the files after a change (the sidebar) */
  readonly changed: () => void
  readonly quota: QuotaPolls
}

const TITLE = "OpenAI"

export const toastOutcome = (api: TuiPluginApi, outcome: Outcome<unknown>): void =>
  api.ui.toast(
    outcome.ok
      ? { variant: "success", title: TITLE, message: outcome.summary }
      : { variant: "error", title: TITLE, message: outcome.message },
  )

/** Applies a parsed command, closes the dialog and reports. */
export const apply = async (ctx: DialogContext, command: Command): Promise<void> => {
  const outcome = await ctx.runtime.run(command)
  ctx.api.ui.dialog.clear()
  toastOutcome(ctx.api, outcome)
  if (outcome.ok) ctx.changed()
}

/** Parses `/openai-<name> args` words and applies them; a usage error is a toast. */
export const applyWords = async (ctx: DialogContext, name: CommandName, words: ReadonlyArray<string>) => {
  const parsed = parseCommand(name, words)
  if (!parsed.ok) {
    ctx.api.ui.toast({ variant: "error", title: TITLE, message: parsed.error })
    return
  }
  await apply(ctx, parsed.command)
}

/** Reads through one of the command bodies; on failure reports it and yields undefined. */
const read = async <A,>(
  ctx: DialogContext,
  f: (c: CommandsShape) => Effect.Effect<CommandResult<A>, unknown>,
): Promise<CommandResult<A> | undefined> => {
  const outcome = await ctx.runtime.commands(f)
  if (!outcome.ok) {
    toastOutcome(ctx.api, outcome)
    return undefined
  }
  return outcome
}

const select = <V,>(ctx: DialogContext, props: TuiDialogSelectProps<V>): void => {
  const DialogSelect = ctx.api.ui.DialogSelect
  ctx.api.ui.dialog.replace(() => <DialogSelect<V> {...props} />)
}

const onOffOptions = (ctx: DialogContext, current: boolean, what: string, to: (enabled: boolean) => Command) =>
  [true, false].map(
    (enabled): TuiDialogSelectOption<boolean> => ({
      title: `${enabled ? "Turn on" : "Turn off"} ${what}`,
      value: enabled,
      ...(enabled === current ? { description: "current" } : {}),
      onSelect: () => void apply(ctx, to(enabled)),
    }),
  )

/**
 * Opens at once with what the store knows, polls every account's usage (main and every fallback, whether or
 * not it ever served a request) and fills each row in as its poll answers; a failed poll says why.
 */
const openQuota = async (ctx: DialogContext) => {
  const snap = await ctx.runtime.snapshot()
  if ("error" in snap) {
    ctx.api.ui.toast({ variant: "error", title: TITLE, message: snap.error })
    return
  }
  void ctx.quota.refresh(accountKeys(snap.doc))
  const model = () => quotaDialogModel(snap.doc, ctx.quota.states(), Date.now(), snap.mainLoggedIn)
  const DialogSelect = ctx.api.ui.DialogSelect
  ctx.api.ui.dialog.replace(() => (
    <DialogSelect<string>
      title={model().title}
      options={model().rows.map((row) => ({ title: row.title, value: row.key, description: row.description }))}
      onSelect={() => ctx.api.ui.dialog.clear()}
    />
  ))
  // a row carries two windows, the state and a failed poll's reason: the medium width cuts it
  ctx.api.ui.dialog.setSize("xlarge")
}

const openAccount = async (ctx: DialogContext) => {
  const listed = await read(ctx, (c) => c.listAccounts())
  if (listed === undefined) return
  const now = Date.now()
  const accounts = listed.data.accounts
  const options: Array<TuiDialogSelectOption<string>> = []
  for (const a of accounts) {
    options.push({
      title: `${a.active ? "* " : ""}Switch to ${displayName(a)}`,
      value: `switch:${a.key}`,
      description: formatState(a, now),
      category: "Switch",
      onSelect: () => void apply(ctx, { _tag: "AccountSwitch", account: a.key }),
    })
  }
  const fallbacks = accounts.filter((a) => a.kind === "fallback")
  fallbacks.forEach((a, i) => {
    const previous = fallbacks[i - 1]
    if (previous !== undefined) {
      options.push({
        title: `Move ${displayName(a)} before ${displayName(previous)}`,
        value: `order:${a.key}`,
        category: "Fallback order",
        onSelect: () => void apply(ctx, { _tag: "AccountOrder", first: a.key, second: previous.key }),
      })
    }
  })
  for (const a of fallbacks) {
    options.push({
      title: `Remove ${displayName(a)}…`,
      value: `remove:${a.key}`,
      category: "Remove",
      onSelect: () => confirmRemove(ctx, a.key, displayName(a)),
    })
  }
  options.push({
    title: "Add a fallback account…",
    value: "add",
    description: "/openai-account add [label] (the login runs in the server part)",
    category: "Add",
    onSelect: () => {
      ctx.api.ui.dialog.clear()
      ctx.api.ui.toast({
        variant: "info",
        title: TITLE,
        message: "Type /openai-account add [label] to log in another ChatGPT account",
      })
    },
  })
  select(ctx, { title: `OpenAI accounts (routing ${listed.data.routing})`, options })
}

const confirmRemove = (ctx: DialogContext, key: string, name: string) => {
  const DialogConfirm = ctx.api.ui.DialogConfirm
  ctx.api.ui.dialog.replace(() => (
    <DialogConfirm
      title="Remove fallback account"
      message={`Remove ${name} (${key}) and its stored tokens?`}
      onConfirm={() => void apply(ctx, { _tag: "AccountRemove", account: key })}
      onCancel={() => ctx.api.ui.dialog.clear()}
    />
  ))
}

const openRouting = async (ctx: DialogContext) => {
  const shown = await read(ctx, (c) => c.routingShow())
  if (shown === undefined) return
  const describe = {
    "main-first": "use the main login until it is exhausted, then the fallbacks in order",
    "fallback-first": "use the fallbacks first and keep the main login for last",
  } as const
  select(ctx, {
    title: "OpenAI routing",
    current: shown.data.routing,
    options: (["main-first", "fallback-first"] as const).map((mode) => ({
      title: mode,
      value: mode,
      description: describe[mode],
      onSelect: () => void apply(ctx, { _tag: "RoutingSet", mode }),
    })),
  })
}

const promptThresholds = (ctx: DialogContext, current: string) => {
  const DialogPrompt = ctx.api.ui.DialogPrompt
  ctx.api.ui.dialog.replace(() => (
    <DialogPrompt
      title="Killswitch thresholds (% remaining: 5h,weekly)"
      placeholder="main:5,10 *:5,10"
      value={current}
      onConfirm={(text) => void applyWords(ctx, "killswitch", ["set", ...splitArguments(text)])}
      onCancel={() => ctx.api.ui.dialog.clear()}
    />
  ))
}

const openKillswitch = async (ctx: DialogContext) => {
  const shown = await read(ctx, (c) => c.killswitchShow())
  if (shown === undefined) return
  const current = Object.entries(shown.data.thresholds)
    .map(([key, t]) => `${key}:${t.fiveHour},${t.weekly}`)
    .join(" ")
  select<boolean | string>(ctx, {
    title: `OpenAI killswitch (${shown.summary})`,
    current: shown.data.enabled,
    options: [
      ...onOffOptions(ctx, shown.data.enabled, "the killswitch", (enabled) => ({ _tag: "KillswitchEnable", enabled })),
      {
        title: "Set thresholds…",
        value: "set",
        description: USAGE.killswitch,
        onSelect: () => promptThresholds(ctx, current),
      },
    ],
  })
}

const openCacheKeep = async (ctx: DialogContext) => {
  const shown = await read(ctx, (c) => c.cacheKeepShow())
  if (shown === undefined) return
  const { enabled, subagents } = shown.data
  select<string>(ctx, {
    title: `OpenAI cache keep-warm (${shown.summary})`,
    options: [
      {
        title: `${enabled ? "Turn off" : "Turn on"} keep-warm`,
        value: "enabled",
        onSelect: () => void apply(ctx, { _tag: "CacheKeepEnable", enabled: !enabled }),
      },
      {
        title: `${subagents ? "Turn off" : "Turn on"} keep-warm for subagents`,
        value: "subagents",
        onSelect: () => void apply(ctx, { _tag: "CacheKeepSubagents", enabled: !subagents }),
      },
    ],
  })
}

const openLogging = async (ctx: DialogContext) => {
  const shown = await read(ctx, (c) => c.loggingShow())
  if (shown === undefined) return
  select(ctx, {
    title: `OpenAI log level (${shown.summary})`,
    current: shown.data.level,
    options: LOG_LEVELS.map((level) => ({
      title: level,
      value: level,
      onSelect: () => void apply(ctx, { _tag: "LoggingSet", level }),
    })),
  })
}

const openDump = async (ctx: DialogContext) => {
  const shown = await read(ctx, (c) => c.dumpShow())
  if (shown === undefined) return
  select(ctx, {
    title: `OpenAI request dumps (${shown.summary})`,
    current: shown.data.enabled,
    options: onOffOptions(ctx, shown.data.enabled, "request dumps", (enabled) => ({ _tag: "DumpEnable", enabled })),
  })
}

export const DIALOGS: Readonly<Record<CommandName, (ctx: DialogContext) => Promise<void>>> = {
  quota: openQuota,
  account: openAccount,
  routing: openRouting,
  killswitch: openKillswitch,
  cachekeep: openCacheKeep,
  logging: openLogging,
  dump: openDump,
}
