/**
 * A request no account could serve, as the HTTP answer Pi's built-in Codex stream reads. Pi words a body
 * whose `error.code`/`type` says `usage_limit_reached` (or any 429) as "You have hit your ChatGPT usage
 * limit … Try again in ~N min", taking the minutes from `resets_at` (pi-ai openai-codex-responses.js
 * parseErrorResponse); anything else shows `error.message`. So "nobody can serve this until a reset"
 * becomes that 429, "nobody can serve this until someone logs in" a 401 that shows our reason, and the
 * backend's other refusals keep their status.
 *
 * Pre-facade: the facade's request path gives the same answers (RequestPath.toResponse); this goes then.
 */
import type { RoutedError } from "@cortexkit/openai-auth-accounts/RoutedClient"

const limited = (message: string, resetsAt: number | undefined, now: number): Response =>
  Response.json(
    {
      error: {
        type: "usage_limit_reached",
        code: "usage_limit_reached",
        message,
        ...(resetsAt === undefined ? {} : { resets_at: Math.ceil(resetsAt / 1000) }),
      },
    },
    {
      status: 429,
      headers: resetsAt === undefined ? {} : { "retry-after": String(Math.max(1, Math.ceil((resetsAt - now) / 1000))) },
    },
  )

export const errorResponse = (error: Exclude<RoutedError, { readonly _tag: "RequestAborted" }>, now: number) => {
  if (error._tag === "AllAccountsGated") {
    // no reset ahead: every account waits for a new login, which no amount of waiting cures
    if (error.retryAt === undefined) {
      const message = `${error.message}. Sign in again: /login openai-codex for the main account, /openai-account add for a fallback`
      return Response.json({ error: { type: "no_usable_account", message } }, { status: 401 })
    }
    return limited(error.message, error.retryAt, now)
  }
  if (error._tag === "BackendUnreachable") {
    return Response.json({ error: { type: "backend_unreachable", message: error.message } }, { status: 502 })
  }
  const failure = error.failure
  if (failure._tag === "UsageLimit") return limited(error.message, failure.resetsAt, now)
  return Response.json(
    { error: { type: failure._tag, code: "code" in failure ? failure.code : undefined, message: error.message } },
    { status: error.status >= 400 ? error.status : 502 },
  )
}
