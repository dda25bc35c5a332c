/**
 * The argument grammar shared by the slash commands (`/openai-routing fallback-first`) and the CLI
 * (`openai-auth routing fallback-first`). Parsing is pure and total: every input is either a command or a
 * usage error whose message names what was wrong and shows the expected form.
 */
import { hasControl } from "@cortexkit/openai-auth-core/Printable"
import { MAIN } from "./AccountKey.ts"
import { parseThresholds, type RoutingMode, type Threshold } from "./Routing.ts"

/** A label is a name to type: one word, printable, short, and never `main` (that name is the main account's). */
export const MAX_LABEL_LENGTH = 64

/** what is wrong with `label` as a label, or undefined when it is fine */
export const labelProblem = (label: string): string | undefined => {
  const length = [...label].length
  if (length === 0) return "a label cannot be empty"
  if (length > MAX_LABEL_LENGTH) return `a label is at most ${MAX_LABEL_LENGTH} characters (this one has ${length})`
  if (hasControl(label)) return "a label cannot hold control characters"
  if (/\s/.test(label)) return "a label is one word"
  if (label.toLowerCase() === MAIN) return `"${MAIN}" names the main account; choose another label`
  return undefined
}

export const LOG_LEVELS = ["error", "warn", "info", "debug", "trace"] as const
export type LogLevelName = (typeof LOG_LEVELS)[number]

export type Command =
  | { readonly _tag: "QuotaShow" }
  | { readonly _tag: "AccountList" }
  | { readonly _tag: "AccountAdd"; readonly label?: string | undefined; readonly headless: boolean }
  | { readonly _tag: "AccountSwitch"; readonly account: string }
  | { readonly _tag: "AccountRemove"; readonly account: string }
  | { readonly _tag: "AccountOrder"; readonly first: string; readonly second: string }
  | { readonly _tag: "RoutingShow" }
  | { readonly _tag: "RoutingSet"; readonly mode: RoutingMode }
  | { readonly _tag: "KillswitchShow" }
  | { readonly _tag: "KillswitchEnable"; readonly enabled: boolean }
  | { readonly _tag: "KillswitchSet"; readonly thresholds: Readonly<Record<string, Threshold>> }
  | { readonly _tag: "CacheKeepShow" }
  | { readonly _tag: "CacheKeepEnable"; readonly enabled: boolean }
  | { readonly _tag: "CacheKeepSubagents"; readonly enabled: boolean }
  | { readonly _tag: "LoggingShow" }
  | { readonly _tag: "LoggingSet"; readonly level: LogLevelName }
  | { readonly _tag: "DumpShow" }
  | { readonly _tag: "DumpEnable"; readonly enabled: boolean }

export type CommandName = "quota" | "account" | "routing" | "killswitch" | "cachekeep" | "logging" | "dump"

export const USAGE: Readonly<Record<CommandName, string>> = {
  quota: "quota",
  account: "account [add [label] | switch <id> | remove <id> | order <a> <b>]",
  routing: "routing [main-first | fallback-first]",
  killswitch: "killswitch [on | off | set <acct>:<5h>,<1w> ...]",
  cachekeep: "cachekeep [on | off | subagents on | subagents off]",
  logging: "logging [error | warn | info | debug | trace]",
  dump: "dump [on | off]",
}

export type Parsed = { readonly ok: true; readonly command: Command } | { readonly ok: false; readonly error: string }

const ok = (command: Command): Parsed => ({ ok: true, command })
const usage = (name: CommandName, problem: string): Parsed => ({
  ok: false,
  error: `${problem}. Usage: ${USAGE[name]}`,
})

const onOff = (word: string | undefined): boolean | undefined =>
  word === "on" ? true : word === "off" ? false : undefined

const isCommandName = (name: string): name is CommandName => Object.hasOwn(USAGE, name)

/** Splits a slash command's argument text on whitespace. */
export const splitArguments = (text: string): Array<string> =>
  text
    .trim()
    .split(/\s+/)
    .filter((w) => w.length > 0)

export const parseCommand = (name: string, args: ReadonlyArray<string>): Parsed => {
  if (!isCommandName(name)) return { ok: false, error: `unknown command "${name}"` }
  const [first, ...rest] = args
  const extra = (allowed: number) => args.length > allowed
  switch (name) {
    case "quota":
      return args.length === 0 ? ok({ _tag: "QuotaShow" }) : usage(name, `unexpected argument "${first}"`)
    case "account": {
      if (first === undefined) return ok({ _tag: "AccountList" })
      if (first === "add") {
        if (rest.length > 1) return usage(name, "a label is one word")
        const problem = rest[0] === undefined ? undefined : labelProblem(rest[0])
        if (problem !== undefined) return usage(name, problem)
        return ok({ _tag: "AccountAdd", label: rest[0], headless: false })
      }
      if (first === "switch" || first === "remove") {
        if (rest.length !== 1) return usage(name, `${first} takes exactly one account id or label`)
        return ok({ _tag: first === "switch" ? "AccountSwitch" : "AccountRemove", account: rest[0] as string })
      }
      if (first === "order") {
        if (rest.length !== 2) return usage(name, "order takes two account ids or labels")
        if (rest[0] === rest[1]) return usage(name, "order swaps two different accounts")
        return ok({ _tag: "AccountOrder", first: rest[0] as string, second: rest[1] as string })
      }
      return usage(name, `unknown action "${first}"`)
    }
    case "routing":
      if (first === undefined) return ok({ _tag: "RoutingShow" })
      if (extra(1)) return usage(name, "too many arguments")
      if (first === "main-first" || first === "fallback-first") return ok({ _tag: "RoutingSet", mode: first })
      return usage(name, `unknown mode "${first}"`)
    case "killswitch": {
      if (first === undefined) return ok({ _tag: "KillswitchShow" })
      const enabled = onOff(first)
      if (enabled !== undefined) {
        return extra(1) ? usage(name, "too many arguments") : ok({ _tag: "KillswitchEnable", enabled })
      }
      if (first === "set") {
        const parsed = parseThresholds(rest)
        return parsed.ok ? ok({ _tag: "KillswitchSet", thresholds: parsed.value }) : usage(name, parsed.error)
      }
      return usage(name, `unknown action "${first}"`)
    }
    case "cachekeep": {
      if (first === undefined) return ok({ _tag: "CacheKeepShow" })
      if (first === "subagents") {
        const enabled = onOff(rest[0])
        if (enabled === undefined || rest.length !== 1) return usage(name, "subagents takes on or off")
        return ok({ _tag: "CacheKeepSubagents", enabled })
      }
      const enabled = onOff(first)
      if (enabled === undefined) return usage(name, `unknown action "${first}"`)
      return extra(1) ? usage(name, "too many arguments") : ok({ _tag: "CacheKeepEnable", enabled })
    }
    case "logging": {
      if (first === undefined) return ok({ _tag: "LoggingShow" })
      if (extra(1)) return usage(name, "too many arguments")
      const level = LOG_LEVELS.find((l) => l === first)
      return level === undefined ? usage(name, `unknown level "${first}"`) : ok({ _tag: "LoggingSet", level })
    }
    case "dump": {
      if (first === undefined) return ok({ _tag: "DumpShow" })
      const enabled = onOff(first)
      if (enabled === undefined) return usage(name, `unknown action "${first}"`)
      return extra(1) ? usage(name, "too many arguments") : ok({ _tag: "DumpEnable", enabled })
    }
  }
}
