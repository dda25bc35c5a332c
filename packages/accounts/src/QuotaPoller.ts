/**
 * The explicit quota poll behind `/openai-quota` and `openai-auth quota`: `GET <usageEndpoint>` for main and
 * every fallback, tokens through Credentials (so a poll refreshes an expired token the same coordinated way a
 * request does), readings into the QuotaCache. One account failing never fails the poll: each outcome is
 * reported on its own.
 */
import { HostIdentity } from "@cortexkit/openai-auth-core/HostIdentity"
import { Http } from "@cortexkit/openai-auth-core/Http"
import { type QuotaSnapshot, quotaFromUsage } from "@cortexkit/openai-auth-core/Quota"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import { Clock, Context, Effect, Layer, Redacted } from "effect"
import { keyOf, MAIN } from "./AccountKey.ts"
import { type AccessGrant, Credentials } from "./Credentials.ts"
import { QuotaCache } from "./QuotaCache.ts"
import { Store } from "./Store.ts"

export type PollOutcome =
  | { readonly key: string; readonly ok: true; readonly snapshot: QuotaSnapshot }
  | { readonly key: string; readonly ok: false; readonly reason: string; readonly message: string }

export interface QuotaPollerShape {
  readonly pollAll: Effect.Effect<ReadonlyArray<PollOutcome>>
  readonly poll: (key: string) => Effect.Effect<PollOutcome>
}

const usageHeaders = (grant: AccessGrant, userAgent: string): Record<string, string> => ({
  authorization: `Bearer ${Redacted.value(grant.access)}`,
  accept: "application/json",
  "user-agent": userAgent,
  ...(grant.accountId === "" ? {} : { "chatgpt-account-id": grant.accountId }),
})

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

export const make = Effect.gen(function* () {
  const http = yield* Http
  const settings = yield* Settings
  const credentials = yield* Credentials
  const cache = yield* QuotaCache
  const store = yield* Store
  const { userAgent } = yield* HostIdentity

  const failure = (key: string, reason: string, message: string): PollOutcome => ({ key, ok: false, reason, message })

  const poll = Effect.fn("QuotaPoller.poll")(function* (key: string) {
    const first = yield* credentials.access(key).pipe(Effect.result)
    if (first._tag === "Failure") return failure(key, first.failure._tag, first.failure.message)
    let grant = first.success
    let response = yield* http
      .get(settings.usageEndpoint, { headers: usageHeaders(grant, userAgent) })
      .pipe(Effect.result)
    if (response._tag === "Success" && response.success.status === 401) {
      const again = yield* credentials.afterUnauthorized(key, grant.access).pipe(Effect.result)
      if (again._tag === "Failure") return failure(key, again.failure._tag, again.failure.message)
      grant = again.success
      response = yield* http
        .get(settings.usageEndpoint, { headers: usageHeaders(grant, userAgent) })
        .pipe(Effect.result)
    }
    if (response._tag === "Failure") return failure(key, "HttpError", response.failure.message)
    const { status, text } = response.success
    if (status < 200 || status >= 300) {
      return failure(
        key,
        "UsageStatus",
        `usage endpoint answered ${status}: ${text.slice(0, 160).replace(/\s+/g, " ")}`,
      )
    }
    const json = parseJson(text)
    if (json === undefined)
      return failure(key, "UsageMalformed", "usage endpoint answered with a body that is not JSON")
    const snapshot = quotaFromUsage(json, yield* Clock.currentTimeMillis)
    yield* cache.push(key, snapshot)
    const outcome: PollOutcome = { key, ok: true, snapshot }
    return outcome
  })

  const pollLogged = (key: string) =>
    Effect.tap(poll(key), (outcome) =>
      outcome.ok
        ? Effect.logDebug("quota polled", {
            account: key,
            fiveHourUsed: outcome.snapshot.fiveHour?.usedPercent,
            weeklyUsed: outcome.snapshot.weekly?.usedPercent,
          })
        : Effect.logInfo("quota poll failed", { account: key, reason: outcome.reason, message: outcome.message }),
    )

  const pollAll = Effect.gen(function* () {
    const doc = yield* store.read.pipe(Effect.result)
    const keys = [MAIN, ...(doc._tag === "Success" ? doc.success.accounts.map(keyOf) : [])]
    const outcomes = yield* Effect.forEach(keys, pollLogged, { concurrency: 4 })
    // the CLI exits right after: the readings must be on disk, not waiting for the throttle
    yield* cache.flush
    return outcomes
  }).pipe(Effect.withSpan("QuotaPoller.pollAll"))

  return QuotaPoller.of({ pollAll, poll: pollLogged })
})

export class QuotaPoller extends Context.Service<QuotaPoller, QuotaPollerShape>()(
  "@cortexkit/openai-auth-accounts/QuotaPoller",
) {
  static readonly layer: Layer.Layer<QuotaPoller, never, Http | Settings | Credentials | QuotaCache | Store> =
    Layer.effect(QuotaPoller, make)
}
