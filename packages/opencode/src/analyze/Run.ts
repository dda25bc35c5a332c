/**
 * `analyze:cache` as a function of its arguments, environment and output sinks, so the CLI is testable
 * without a subprocess. Exit status: 0 report printed, 1 nothing found, 2 bad usage.
 */
import { type Env, loadSettings, machineDefaults } from "@cortexkit/openai-auth-core/Settings"
import { Effect } from "effect"
import { openCodeSettings } from "../OpenCodeHost.ts"
import { parseArgs, USAGE } from "./Args.ts"
import { type LoadError, loadSession } from "./Load.ts"
import { analyzeSession, renderSummary, renderTimeline, renderWireContext } from "./Report.ts"

export interface RunIo {
  readonly env: Env
  readonly out: (text: string) => void
  readonly err: (text: string) => void
}

const describeLoadError = (error: LoadError): string => {
  switch (error._tag) {
    case "DumpDirMissing":
      return `dump directory ${error.dumpDir} does not exist (are dumps on? CORTEXKIT_OPENAI_AUTH_DUMP=1 or /openai-dump on)`
    case "SessionNotFound": {
      const some = error.available.slice(-10)
      const hint =
        some.length === 0
          ? "it holds no sessions"
          : `sessions there: ${some.join(", ")}${error.available.length > some.length ? ", ..." : ""}`
      return `no dumps for session ${error.session} in ${error.dumpDir} (${hint})`
    }
    case "NoDumps":
      return `session ${error.session} has no request dumps in ${error.path}`
    case "DumpReadError":
      return `cannot read ${error.path}: ${error.message}`
  }
}

export const runAnalyzeCache = Effect.fnUntraced(function* (argv: ReadonlyArray<string>, io: RunIo) {
  const parsed = parseArgs(argv)
  if (parsed.kind === "help") {
    io.out(`${USAGE}\n`)
    return 0
  }
  if (parsed.kind === "error") {
    io.err(`analyze:cache: ${parsed.message}\n${USAGE}\n`)
    return 2
  }
  const args = parsed.args
  let dumpDir = args.dir
  if (dumpDir === undefined) {
    const settings = yield* Effect.result(loadSettings(openCodeSettings(io.env), machineDefaults()))
    if (settings._tag === "Failure") {
      io.err(`analyze:cache: ${settings.failure.message} (pass --dir <dumpDir>)\n`)
      return 2
    }
    dumpDir = settings.success.dumpDir
  }
  const loaded = yield* Effect.result(loadSession(dumpDir, args.session))
  if (loaded._tag === "Failure") {
    io.err(`analyze:cache: ${describeLoadError(loaded.failure)}\n`)
    return 1
  }
  const records = loaded.success
  const report = analyzeSession(records)
  io.out(`session ${args.session}: ${records.length} request(s) in ${dumpDir}\n\n`)
  if (args.timeline) io.out(`${renderTimeline(report)}\n\n`)
  io.out(`${renderSummary(report)}\n`)
  if (args.wireContext !== undefined && records.length > 1) {
    io.out(`\nwire context (${args.wireContext} bytes):\n${renderWireContext(records, args.wireContext)}\n`)
  }
  return 0
})
