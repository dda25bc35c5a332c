/**
 * The `/openai-*` commands in Pi, with the grammar every host shares (accounts' CommandSyntax) and the same
 * command bodies. With arguments a command applies them at once. Without, it shows the current state, and
 * in Pi's terminal UI it then offers the choices in a selector. Results go to `ctx.ui.notify` (a TUI
 * notification, an `extension_ui_request` in RPC mode), or to stdout where Pi has no UI (`pi -p`).
 */
import type { ExtensionAPI, ExtensionCommandContext } from "@earendil-works/pi-coding-agent"
import type { Client } from "./Client.ts"

export const COMMANDS = {
  "openai-quota": "ChatGPT quota (5h and weekly) of every account, polled now",
  "openai-account": "ChatGPT accounts: add [label] | switch <id> | remove <id> | order <a> <b>",
  "openai-routing": "Account preference: main-first | fallback-first",
  "openai-killswitch": "Hold back accounts below quota thresholds: on | off | set <acct>:<5h>,<1w> ...",
  "openai-cachekeep": "Keep the prompt cache warm while idle: on | off | subagents on | subagents off",
  "openai-logging": "Log level: error | warn | info | debug | trace",
  "openai-dump": "Request dumps for cache debugging: on | off",
} as const

/** The argument forms offered by completion and, without arguments, by the selector. */
const CHOICES: Readonly<Record<string, ReadonlyArray<string>>> = {
  account: ["add", "switch", "remove", "order"],
  routing: ["main-first", "fallback-first"],
  killswitch: ["on", "off", "set"],
  cachekeep: ["on", "off", "subagents on", "subagents off"],
  logging: ["error", "warn", "info", "debug", "trace"],
  dump: ["on", "off"],
}

const show = (ctx: ExtensionCommandContext, text: string, ok: boolean) => {
  if (ctx.hasUI) ctx.ui.notify(text, ok ? "info" : "error")
  else process.stdout.write(`${text}\n`)
}

/** `/openai-account add [label]`: a device-code login, shown at once and finished in the background. */
const addAccount = async (client: Client, args: string, ctx: ExtensionCommandContext) => {
  const started = await client.addAccount(args).catch((error: unknown) => error as Error)
  if (started instanceof Error) return show(ctx, `could not start the login: ${started.message}`, false)
  if (!started.ok) return show(ctx, started.text, false)
  const { label, login } = started
  show(
    ctx,
    `to add ${label === undefined ? "a ChatGPT account" : `"${label}"`}, open ${login.verificationUrl} and enter ${login.userCode}`,
    true,
  )
  const done = login.completed
    .then((result) => show(ctx, result.summary, true))
    .catch((error: unknown) => show(ctx, `adding the account failed: ${String(error)}`, false))
  // without a UI nobody sees a later notification: wait for the login instead
  if (!ctx.hasUI) await done
}

/** Without arguments in the terminal UI: the choices, after the current state. */
const pick = async (name: string, client: Client, ctx: ExtensionCommandContext): Promise<string | undefined> => {
  if (name === "account") {
    const listed = await client.command("account", "")
    const names = listed.accounts ?? []
    const options = ["add", ...names.flatMap((n) => [`switch ${n}`, ...(n === "main" ? [] : [`remove ${n}`])])]
    return ctx.ui.select(listed.text, options)
  }
  const choices = CHOICES[name]
  if (choices === undefined) return undefined
  const current = await client.command(name, "")
  return ctx.ui.select(current.text, [...choices.filter((c) => c !== "set")])
}

export const runSlash = async (client: Client, name: string, args: string, ctx: ExtensionCommandContext) => {
  let words = args.trim()
  if (words === "" && ctx.mode === "tui" && name !== "quota") {
    const chosen = await pick(name, client, ctx)
    if (chosen === undefined) return
    words = chosen
  }
  if (name === "account" && /^add(\s|$)/.test(words)) return addAccount(client, words, ctx)
  const outcome = await client.command(name, words)
  show(ctx, outcome.text, outcome.ok)
}

export const registerCommands = (
  pi: ExtensionAPI,
  client: () => Promise<Client>,
  changed: (ctx: ExtensionCommandContext) => void,
) => {
  for (const [command, description] of Object.entries(COMMANDS)) {
    const name = command.slice("openai-".length)
    pi.registerCommand(command, {
      description,
      getArgumentCompletions: (prefix) => {
        const items = (CHOICES[name] ?? []).filter((c) => c.startsWith(prefix.trimStart()))
        return items.length === 0 ? null : items.map((c) => ({ value: c, label: c }))
      },
      handler: async (args, ctx) => {
        await runSlash(await client(), name, args, ctx)
        changed(ctx)
      },
    })
  }
}
