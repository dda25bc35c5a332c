/**
 * The part of `openai-auth` that needs the services: loaded only once the arguments parsed, so `--help` and
 * usage errors answer without loading the runtime.
 */
import { type CommandResult, Commands, runCommand } from "@cortexkit/openai-auth-accounts/Commands"
import { type AccountView, formatAccounts, formatQuota } from "@cortexkit/openai-auth-accounts/Format"
import type { PollOutcome } from "@cortexkit/openai-auth-accounts/QuotaPoller"
import { Cause, Clock, Effect, Exit } from "effect"
import type { CliRequest } from "./Args.ts"
import { loginFlow } from "./Login.ts"
import { cliLayer, type Env } from "./Runtime.ts"

export { redact } from "@cortexkit/openai-auth-core/Redact"

export const EXIT_OK = 0
export const EXIT_FAILED = 1

export interface CliIo {
  readonly out: (text: string) => void
  readonly err: (text: string) => void
  readonly env: Env
}

export interface Outcome {
  readonly code: number
  /** for stdout */
  readonly text?: string
  /** one line for stderr */
  readonly error?: string
  /** the failure's tag (`UnknownAccount`, `LockTimeout`, ...), the `code` of a `--json` error */
  readonly errorCode?: string
}

const json = (value: unknown) => JSON.stringify(value, null, 2)

const accountsJson = (data: {
  readonly routing: string
  readonly activeAccount?: string | undefined
  readonly killswitch: boolean
  readonly accounts: ReadonlyArray<AccountView>
}) => ({
  routing: data.routing,
  activeAccount: data.activeAccount,
  killswitch: data.killswitch,
  accounts: data.accounts,
})

const pollJson = (p: PollOutcome) =>
  p.ok ? { key: p.key, ok: true } : { key: p.key, ok: false, reason: p.reason, error: p.message }

const execute = (request: Exclude<CliRequest, { _tag: "Help" | "Version" }>, io: CliIo) =>
  Effect.gen(function* () {
    const commands = yield* Commands
    const now = yield* Clock.currentTimeMillis
    switch (request._tag) {
      case "List": {
        const { data } = yield* commands.listAccounts()
        const text = request.json
          ? json(accountsJson(data))
          : `routing: ${data.routing}\n${formatAccounts(data.accounts, now)}`
        return { code: EXIT_OK, text }
      }
      case "Quota": {
        const { data } = yield* commands.quota()
        const failures = data.polled.filter((p): p is Extract<PollOutcome, { ok: false }> => !p.ok)
        const text = request.json
          ? json({ ...accountsJson(data), polled: data.polled.map(pollJson) })
          : formatQuota(
              data.accounts,
              failures.map((f) => ({ key: f.key, message: f.message })),
              now,
            )
        const allFailed = data.polled.length > 0 && failures.length === data.polled.length
        return allFailed
          ? {
              code: EXIT_FAILED,
              text,
              error: `quota: every poll failed (${failures.map((f) => `${f.key}: ${f.message}`).join("; ")})`,
            }
          : { code: EXIT_OK, text }
      }
      case "Login": {
        const say = request.json ? io.err : io.out
        const tokens = yield* loginFlow({ headless: request.headless, env: io.env, say })
        const result = yield* commands.addAccount(tokens, request.label)
        return { code: EXIT_OK, text: request.json ? json(result.data) : result.summary }
      }
      case "Run": {
        const result: CommandResult<unknown> = yield* runCommand(request.command)
        return {
          code: EXIT_OK,
          text: request.json ? json({ summary: result.summary, ...(result.data as object) }) : result.summary,
        }
      }
    }
  })

const describeFailure = (cause: Cause.Cause<unknown>): { readonly error: string; readonly errorCode: string } => {
  const error = Cause.squash(cause)
  const tag =
    typeof error === "object" && error !== null && "_tag" in error && typeof error._tag === "string"
      ? error._tag
      : "Failed"
  if (
    typeof error === "object" &&
    error !== null &&
    "message" in error &&
    typeof error.message === "string" &&
    error.message !== ""
  ) {
    return { error: error.message, errorCode: tag }
  }
  return { error: String(error), errorCode: tag }
}

export const runRequest = async (
  request: Exclude<CliRequest, { _tag: "Help" | "Version" }>,
  io: CliIo,
): Promise<Outcome> => {
  const exit = await Effect.runPromiseExit(execute(request, io).pipe(Effect.provide(cliLayer(io.env))))
  return Exit.isSuccess(exit) ? exit.value : { code: EXIT_FAILED, ...describeFailure(exit.cause) }
}
