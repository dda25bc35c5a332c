/**
 * `openai-auth` argument parsing: pure and total. Every argv is a request or a usage error (exit 2) whose
 * one-line message says what was wrong and shows the command's usage.
 */
import { type Command, labelProblem, parseCommand } from "@cortexkit/openai-auth-accounts/CommandSyntax"
import { printableLine } from "@cortexkit/openai-auth-core/Printable"
import { version } from "../../package.json" with { type: "json" }

export const BIN = "openai-auth"

/** the plugin package's version (the bundle inlines it) */
export const VERSION: string = version

export const USAGE = {
  login: "login [--label <name>] [--headless]",
  list: "list [--json]",
  remove: "remove <id>",
  quota: "quota [--json]",
  routing: "routing [main-first|fallback-first]",
  killswitch: "killswitch [on|off|set <acct>:<5h>,<1w> ...]",
  cachekeep: "cachekeep [on|off|subagents on|subagents off]",
  logging: "logging [error|warn|info|debug|trace]",
  dump: "dump [on|off]",
  switch: "switch <id>",
  order: "order <a> <b>",
} as const

export type CliCommandName = keyof typeof USAGE

export const DESCRIPTIONS: Readonly<Record<CliCommandName, string>> = {
  login: "add a fallback account (browser, or device code with --headless)",
  list: "main + fallback accounts, with state",
  remove: "remove a fallback account (by id or label)",
  quota: "poll the usage endpoint for every account and show 5h/weekly usage",
  routing: "show or set the account preference order",
  killswitch: "show, enable, disable or set per-account quota cutoffs",
  cachekeep: "show or set the idle prompt-cache keep-warm",
  logging: "show or set the log level",
  dump: "show or toggle transport request dumps",
  switch: "route traffic to this account first (main switches back)",
  order: "swap two fallback accounts' positions",
}

export type CliRequest =
  | { readonly _tag: "Help"; readonly topic?: CliCommandName | undefined }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Login"; readonly label?: string | undefined; readonly headless: boolean; readonly json: boolean }
  | { readonly _tag: "List"; readonly json: boolean }
  | { readonly _tag: "Quota"; readonly json: boolean }
  | { readonly _tag: "Run"; readonly name: CliCommandName; readonly command: Command; readonly json: boolean }

export type ParsedArgs =
  | { readonly ok: true; readonly request: CliRequest }
  | { readonly ok: false; readonly error: string }

const isName = (name: string): name is CliCommandName => Object.hasOwn(USAGE, name)

export const usageLine = (name: CliCommandName): string => `Usage: ${BIN} ${USAGE[name]}`

const bad = (name: CliCommandName | undefined, problem: string): ParsedArgs => ({
  ok: false,
  error: name === undefined ? `${problem}. Run "${BIN} --help" for usage` : `${problem}. ${usageLine(name)}`,
})

/** the slash-command grammar's usage error, reworded for the CLI */
const fromSyntax = (name: CliCommandName, error: string): ParsedArgs => {
  const cut = error.indexOf(". Usage:")
  return bad(name, cut < 0 ? error : error.slice(0, cut))
}

const run = (name: CliCommandName, syntax: string, args: ReadonlyArray<string>, json: boolean): ParsedArgs => {
  const parsed = parseCommand(syntax, args)
  return parsed.ok
    ? { ok: true, request: { _tag: "Run", name, command: parsed.command, json } }
    : fromSyntax(name, parsed.error)
}

export const parseArgs = (argv: ReadonlyArray<string>): ParsedArgs => {
  const [first, ...rest] = argv
  if (first === undefined || first === "--help" || first === "-h") return { ok: true, request: { _tag: "Help" } }
  if (first === "--version" || first === "-V" || first === "version") {
    return rest.length === 0
      ? { ok: true, request: { _tag: "Version" } }
      : bad(undefined, `unexpected argument "${rest[0]}"`)
  }
  if (first === "help") {
    const topic = rest[0]
    if (topic === undefined) return { ok: true, request: { _tag: "Help" } }
    if (!isName(topic) || rest.length > 1) return bad(undefined, `unknown help topic "${rest.join(" ")}"`)
    return { ok: true, request: { _tag: "Help", topic } }
  }
  if (!isName(first)) return bad(undefined, `unknown command "${first}"`)
  const name = first
  if (rest.includes("--help") || rest.includes("-h")) return { ok: true, request: { _tag: "Help", topic: name } }
  const json = rest.includes("--json")
  const args: Array<string> = []
  let label: string | undefined
  let headless = false
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string
    if (arg === "--json") continue
    if (name === "login" && arg === "--headless") {
      headless = true
      continue
    }
    if (name === "login" && (arg === "--label" || arg.startsWith("--label="))) {
      const value = arg === "--label" ? rest[++i] : arg.slice("--label=".length)
      if (value === undefined || value === "" || value.startsWith("--")) return bad(name, "--label needs a name")
      const problem = labelProblem(value)
      if (problem !== undefined) return bad(name, printableLine(problem))
      label = value
      continue
    }
    if (arg.startsWith("-") && arg.length > 1) return bad(name, `unknown option "${arg}"`)
    args.push(arg)
  }
  switch (name) {
    case "login":
      return args.length > 0
        ? bad(name, `unexpected argument "${args[0]}"`)
        : { ok: true, request: { _tag: "Login", label, headless, json } }
    case "list":
      return args.length > 0
        ? bad(name, `unexpected argument "${args[0]}"`)
        : { ok: true, request: { _tag: "List", json } }
    case "quota":
      return args.length > 0
        ? bad(name, `unexpected argument "${args[0]}"`)
        : { ok: true, request: { _tag: "Quota", json } }
    case "remove":
      return args.length === 1
        ? run(name, "account", ["remove", ...args], json)
        : bad(name, "remove takes one account id or label")
    case "switch":
      return args.length === 1
        ? run(name, "account", ["switch", ...args], json)
        : bad(name, "switch takes one account id or label")
    case "order":
      return args.length === 2
        ? run(name, "account", ["order", ...args], json)
        : bad(name, "order takes two account ids or labels")
    default:
      return run(name, name, args, json)
  }
}

export const helpText = (topic?: CliCommandName): string => {
  if (topic !== undefined)
    return `${usageLine(topic)}\n\n  ${DESCRIPTIONS[topic]}\n\n${topicNotes[topic] ?? ""}`.trimEnd()
  const width = Math.max(...Object.values(USAGE).map((u) => u.length))
  const lines = (Object.keys(USAGE) as Array<CliCommandName>).map(
    (name) => `  ${BIN} ${USAGE[name].padEnd(width)}  ${DESCRIPTIONS[name]}`,
  )
  return [
    `${BIN}: manage ChatGPT accounts for the OpenCode OpenAI auth plugin`,
    `With --host pi (or OPENAI_AUTH_HOST=pi): the Pi coding agent extension's accounts instead, in Pi's agent dir.`,
    "",
    "Commands:",
    ...lines,
    "",
    `Accounts are named by their ChatGPT account id or their label; the main account is "main" (OpenCode's`,
    `/login openai, or with --host pi Pi's /login openai-codex).`,
    `Every command accepts --json (one JSON document on stdout) and --help. Exit status: 0 ok, 1 failed, 2 bad usage.`,
    `${BIN} --version prints the version.`,
  ].join("\n")
}

const topicNotes: Partial<Record<CliCommandName, string>> = {
  login:
    "  Without --headless, prints the sign-in URL (and opens a browser when one is available), then waits for the\n" +
    "  redirect on localhost:1455 (or 1457). With --headless, prints a code to enter at the device page.\n" +
    "  Logging in to an account that is already stored updates its tokens and label in place.",
  killswitch: "  Example: killswitch set main:5,10 work:5,10   (block below 5% left of 5h or 10% of the week)",
  quota: "  Columns: used % and reset time of the 5-hour and weekly windows, and the account's routing state.",
}
