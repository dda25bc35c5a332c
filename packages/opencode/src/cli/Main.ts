/**
 * `openai-auth` end to end: argv -> request -> command body -> output, and the exit status (0 ok, 1 failed
 * operation, 2 bad usage). Failures are one line on stderr; every line printed after a command ran passes
 * through `redact`, so not even a bug elsewhere can put a token on the terminal.
 */
import { BIN, helpText, parseArgs, VERSION } from "./Args.ts"
import type { CliIo } from "./Run.ts"

export type { CliIo } from "./Run.ts"

export const EXIT_USAGE = 2

export const main = async (argv: ReadonlyArray<string>, io: CliIo): Promise<number> => {
  const parsed = parseArgs(argv)
  if (!parsed.ok) {
    io.err(`${BIN}: ${parsed.error}`)
    return EXIT_USAGE
  }
  const request = parsed.request
  if (request._tag === "Help") {
    io.out(helpText(request.topic))
    return 0
  }
  if (request._tag === "Version") {
    io.out(`${BIN} ${VERSION}`)
    return 0
  }
  const { redact, runRequest } = await import("./Run.ts")
  const outcome = await runRequest(request, io)
  if (outcome.text !== undefined && outcome.text !== "") io.out(redact(outcome.text))
  if (outcome.error !== undefined) io.err(`${BIN}: ${redact(outcome.error).replace(/\s*\n\s*/g, " ")}`)
  return outcome.code
}
