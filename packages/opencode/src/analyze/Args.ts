/** Command line of `analyze:cache`. */

export interface AnalyzeArgs {
  readonly session: string
  readonly dir?: string
  readonly timeline: boolean
  readonly wireContext?: number
}

export type ParsedArgs =
  | { readonly kind: "ok"; readonly args: AnalyzeArgs }
  | { readonly kind: "help" }
  | { readonly kind: "error"; readonly message: string }

export const USAGE = `usage: bun run analyze:cache -- --session <id> [--dir <dumpDir>] [--no-timeline] [--wire-context N]

  --session <id>      the dumped session (its prompt_cache_key / OpenCode session id)
  --dir <dumpDir>     the dump directory (default: the dumpDir setting)
  --no-timeline       leave out the per-request timeline
  --wire-context N    show N bytes either side of the first differing byte of each consecutive pair`

export const parseArgs = (argv: ReadonlyArray<string>): ParsedArgs => {
  let session: string | undefined
  let dir: string | undefined
  let timeline = true
  let wireContext: number | undefined
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ""
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? arg.split("=", 2) : [arg, undefined]
    const value = () => {
      if (inline !== undefined) return inline
      const next = argv[i + 1]
      if (next === undefined || next.startsWith("--")) return undefined
      i++
      return next
    }
    switch (flag) {
      case "--":
        continue
      case "-h":
      case "--help":
        return { kind: "help" }
      case "--session": {
        const v = value()
        if (v === undefined || v.trim() === "") return { kind: "error", message: "--session needs a session id" }
        session = v.trim()
        break
      }
      case "--dir": {
        const v = value()
        if (v === undefined || v.trim() === "") return { kind: "error", message: "--dir needs a directory" }
        dir = v
        break
      }
      case "--no-timeline":
        timeline = false
        break
      case "--wire-context": {
        const v = value()
        const n = v === undefined ? Number.NaN : Number(v)
        if (!Number.isInteger(n) || n < 0) {
          return { kind: "error", message: "--wire-context needs a whole number of bytes" }
        }
        wireContext = n
        break
      }
      default:
        return { kind: "error", message: `unknown argument: ${arg}` }
    }
  }
  if (session === undefined) return { kind: "error", message: "--session <id> is required" }
  return {
    kind: "ok",
    args: {
      session,
      timeline,
      ...(dir === undefined ? {} : { dir }),
      ...(wireContext === undefined ? {} : { wireContext }),
    },
  }
}
