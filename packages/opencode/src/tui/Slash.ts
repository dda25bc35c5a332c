/**
 * The TUI's names for the seven account commands: the palette commands (`openai.<name>.dialog`, the names the
 * server publishes with `tui.command.execute`) and the `/openai-<name> args` lines the Enter interceptor
 * handles itself. Pure, so the host-only JSX stays thin.
 */
import { type CommandName, splitArguments } from "@cortexkit/openai-auth-accounts/CommandSyntax"

export const COMMAND_NAMES: ReadonlyArray<CommandName> = [
  "quota",
  "account",
  "routing",
  "killswitch",
  "cachekeep",
  "logging",
  "dump",
]

export const TITLES: Readonly<Record<CommandName, string>> = {
  quota: "OpenAI: quota of every account",
  account: "OpenAI: accounts (switch, remove, reorder)",
  routing: "OpenAI: routing (main-first / fallback-first)",
  killswitch: "OpenAI: quota killswitch",
  cachekeep: "OpenAI: prompt-cache keep-warm",
  logging: "OpenAI: log level",
  dump: "OpenAI: request dumps",
}

/** the keymap command name the server publishes for a bare `/openai-<name>` */
export const dialogCommandName = (name: CommandName): string => `openai.${name}.dialog`

export const CATEGORY = "OpenAI"

export type SlashLine =
  | { readonly _tag: "Bare"; readonly name: CommandName }
  | { readonly _tag: "WithArgs"; readonly name: CommandName; readonly args: ReadonlyArray<string> }

const SLASH = /^\s*\/openai-([a-z]+)(?:\s+([\s\S]*))?$/

const isName = (name: string): name is CommandName => (COMMAND_NAMES as ReadonlyArray<string>).includes(name)

/**
 * What a prompt line asks for, or `undefined` when the interceptor must leave it alone: any other text,
 * an unknown `/openai-*` name, and `account add`, which needs the server's login flow.
 */
export const matchSlashLine = (text: string): SlashLine | undefined => {
  const m = SLASH.exec(text)
  if (m === null) return undefined
  const name = m[1] as string
  if (!isName(name)) return undefined
  const args = splitArguments(m[2] ?? "")
  if (args.length === 0) return { _tag: "Bare", name }
  if (name === "account" && args[0] === "add") return undefined
  return { _tag: "WithArgs", name, args }
}
