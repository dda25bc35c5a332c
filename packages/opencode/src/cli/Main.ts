/**
 * `openai-auth` end to end: argv -> request -> command body -> output, and the exit status (0 ok, 1 failed
 * operation, 2 bad usage). Failures are one line on stderr and, with `--json`, also one JSON document on stdout
 * (`{ "error": { "code", "message" } }`) so a script always gets JSON. Every line printed after a command ran
 * passes through `redact`, so not even a bug elsewhere can put a token on the terminal, and everything printed
 * has its control characters escaped (a label or a server's message cannot drive the terminal).
 */
import { printable, printableJson, printableLine } from "@cortexkit/openai-auth-core/Printable"
import { BIN, helpText, parseArgs, VERSION } from "./Args.ts"
import { takeHostFlag } from "./Hosts.ts"
import type { CliIo } from "./Run.ts"

export type { CliIo } from "./Run.ts"

export const EXIT_USAGE = 2

/** the JSON document a failed `--json` run prints on stdout */
export const errorJson = (code: string, message: string): string =>
  printableJson(JSON.stringify({ error: { code, message } }, null, 2))

const oneLine = (text: string) => printableLine(text.replace(/\s*\n\s*/g, " "))

export const main = async (argv: ReadonlyArray<string>, io: CliIo): Promise<number> => {
  const json = argv.includes("--json")
  const failed = (status: number, code: string, message: string) => {
    if (json) io.out(errorJson(code, message))
    io.err(`${BIN}: ${oneLine(message)}`)
    return status
  }
  const host = takeHostFlag(argv, io.env)
  if (!host.ok) return failed(EXIT_USAGE, "Usage", host.error)
  const parsed = parseArgs(host.argv)
  if (!parsed.ok) return failed(EXIT_USAGE, "Usage", parsed.error)
  const request = parsed.request
  if (request._tag === "Help") {
    io.out(helpText(request.topic))
    return 0
  }
  if (request._tag === "Version") {
    io.out(`${BIN} ${VERSION}`)
    return 0
  }
  // loaded only once the arguments parsed: --help and usage errors answer without the runtime
  const { redact, runRequest } = await import("./Run.ts")
  const outcome = await runRequest(request, { ...io, env: host.env })
  const hasText = outcome.text !== undefined && outcome.text !== ""
  if (hasText) io.out(json ? printableJson(redact(outcome.text ?? "")) : printable(redact(outcome.text ?? "")))
  if (outcome.error === undefined) return outcome.code
  // a document already printed (quota --json with every poll failed) carries its own errors: one document only
  if (json && hasText) {
    io.err(`${BIN}: ${oneLine(redact(outcome.error))}`)
    return outcome.code
  }
  return failed(outcome.code, outcome.errorCode ?? "Failed", redact(outcome.error))
}
