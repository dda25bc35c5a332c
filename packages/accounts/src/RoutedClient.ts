/**
 * The whole request path below the host: for each candidate account, in routing order, get credentials,
 * rewrite, send through the transport the settings choose, and classify a refusal before output to decide
 * whether to try again, move on, or stop. Host-agnostic: OpenCode's adapter, a script or a proxy drive it
 * the same way.
 *
 * The rules (issue "Accounts"): each account is tried at most once per request; a 401 refreshes once and
 * retries that account; `usage_limit_reached` marks the account exhausted until its reset and moves on; a
 * burst 429 is retried once on the same account after a short bounded wait; 403 and plan errors move on;
 * a request that is wrong in itself (context too long, bad request) stops at once; nothing is retried once
 * output has reached the caller, which the transport's commit point guarantees.
 */
import type { CodexFailure } from "@cortexkit/openai-auth-core/CodexError"
import { prepareCodexRequest } from "@cortexkit/openai-auth-core/CodexRequest"
import { HostIdentity } from "@cortexkit/openai-auth-core/HostIdentity"
import type { HostRequest } from "@cortexkit/openai-auth-core/HostRequest"
import type { QuotaSnapshot } from "@cortexkit/openai-auth-core/Quota"
import type { ResolvedSettings } from "@cortexkit/openai-auth-core/Settings"
import type { StreamEvent, StreamEventListener } from "@cortexkit/openai-auth-core/StreamEvent"
import type { TransportError, TransportResponse } from "@cortexkit/openai-auth-transports/Transport"
import { Transports } from "@cortexkit/openai-auth-transports/Transports"
import { Clock, Context, Effect, Layer, Schema } from "effect"
import { keyOf, MAIN } from "./AccountKey.ts"
import { Credentials } from "./Credentials.ts"
import { QuotaCache } from "./QuotaCache.ts"
import { type RoutingAccount, type Selection, type SkipReason, selectAccounts } from "./Routing.ts"
import { Store } from "./Store.ts"
import { emptyDocument, type StoreDocument } from "./StoreSchema.ts"
import { type StreamEnd, watchEnd } from "./StreamEnd.ts"

export type { StreamEnd }

/** A usage limit without a reset time keeps the account out for this long. */
export const DEFAULT_EXHAUSTED_MS = 5 * 60 * 60 * 1000
/** The longest a burst 429 makes the request wait before the one retry on the same account. */
export const MAX_BURST_WAIT_MS = 5_000

export interface Attempt {
  readonly account: string
  readonly outcome: "served" | CodexFailure["_tag"] | "NeedsRelogin" | "CredentialsUnavailable" | TransportError["_tag"]
  readonly message?: string | undefined
}

export interface RoutedResponse {
  readonly account: string
  /** what went on the wire for the attempt that was served (for dumps) */
  readonly request: {
    readonly url: string
    readonly headers: Readonly<Record<string, string>>
    readonly body: string
    /** the same body, parsed (keep-warm replays it) */
    readonly json: Readonly<Record<string, unknown>>
  }
  readonly response: TransportResponse
  readonly attempts: ReadonlyArray<Attempt>
  readonly sessionKey: string
  /**
   * Succeeds when the served answer's stream has ended (its `Terminal` event), with its usage. Never
   * completes when the caller drops the stream unread or aborts it.
   */
  readonly ended: Effect.Effect<StreamEnd>
  /** `ended` as a callback, called at most once, from the stream's own completion (no fiber waits for it) */
  readonly onEnd: (f: (end: StreamEnd) => void) => void
}

export interface SendOptions {
  readonly settings: ResolvedSettings
  readonly signal?: AbortSignal | undefined
  /** only this account may serve (keep-warm replays a session on the account that served it) */
  readonly pin?: string | undefined
  /** every stream event, tagged with the account that produced it */
  readonly onEvent?: ((account: string, event: StreamEvent) => void) | undefined
  /** the store document the caller already read for this request (saves a second read); read here when absent */
  readonly document?: StoreDocument | undefined
}

/**
 * No account could be asked: each is exhausted, held back by the killswitch, waiting for a new login, or its
 * token could not be had right now. `blockedBy` says which wait it is when it is not a quota one: only a login
 * helps (`login`), or a token refresh failed for a passing reason (`credentials`).
 */
export class AllAccountsGated extends Schema.TaggedError<AllAccountsGated>()("AllAccountsGated", {
  message: Schema.String,
  /** epoch ms at which the first account becomes usable again */
  retryAt: Schema.optional(Schema.Number),
  blockedBy: Schema.optional(Schema.Literals(["login", "credentials"])),
  attempts: Schema.Array(Schema.Any),
}) {}

/** What keeps every account from serving when none has a quota reset ahead (see `AllAccountsGated`). */
const blockerOf = (
  /** the earliest quota reset among the accounts left out, if any */
  retryAt: number | undefined,
  skipped: ReadonlyArray<{ readonly reason: SkipReason }>,
  attempts: ReadonlyArray<Attempt>,
): { readonly blockedBy?: "login" | "credentials" } => {
  if (attempts.some((a) => a.outcome === "CredentialsUnavailable")) return { blockedBy: "credentials" }
  const waitsForLogin =
    retryAt === undefined &&
    skipped.every((s) => s.reason._tag === "NeedsRelogin") &&
    attempts.every((a) => a.outcome === "NeedsRelogin")
  return waitsForLogin ? { blockedBy: "login" } : {}
}

/** The last refusal, passed on to the caller as the backend's own status. */
export class RequestRefused extends Schema.TaggedError<RequestRefused>()("RequestRefused", {
  message: Schema.String,
  status: Schema.Number,
  failure: Schema.Any as Schema.Schema<CodexFailure>,
  headers: Schema.Record(Schema.String, Schema.String),
  account: Schema.String,
  attempts: Schema.Array(Schema.Any),
}) {}

/** No account could reach the backend at all (connection refused, timeouts). */
export class BackendUnreachable extends Schema.TaggedError<BackendUnreachable>()("BackendUnreachable", {
  message: Schema.String,
  attempts: Schema.Array(Schema.Any),
}) {}

export class RequestAborted extends Schema.TaggedError<RequestAborted>()("RequestAborted", {}) {}

export type RoutedError = AllAccountsGated | RequestRefused | BackendUnreachable | RequestAborted

/** What the routing needs to know about each account, derived from the store and the quota cache. */
export const routingAccounts = (
  doc: StoreDocument,
  quota: ReadonlyMap<string, QuotaSnapshot>,
): Array<RoutingAccount> => [
  {
    key: MAIN,
    needsRelogin: doc.main?.state === "needs-relogin",
    exhaustedUntil: doc.main?.exhaustedUntil,
    quota: quota.get(MAIN),
  },
  ...doc.accounts.map((a) => {
    const key = keyOf(a)
    return { key, needsRelogin: a.state === "needs-relogin", exhaustedUntil: a.exhaustedUntil, quota: quota.get(key) }
  }),
]

export const policyOf = (doc: StoreDocument) => ({
  mode: doc.routing,
  active: doc.activeAccount,
  killswitch: doc.killswitch,
})

const describeSkip = (key: string, reason: SkipReason): string => {
  switch (reason._tag) {
    case "NeedsRelogin":
      return `${key} needs a new login`
    case "Exhausted":
      return `${key} is out of quota until ${new Date(reason.until).toISOString()}`
    case "Killswitch":
      return `${key} is held back by the killswitch (${reason.window}: ${reason.remainingPercent.toFixed(1)}% left, threshold ${reason.threshold}%)`
  }
}

export interface RoutedClientShape {
  readonly send: (host: HostRequest, options: SendOptions) => Effect.Effect<RoutedResponse, RoutedError>
  /** the current selection, for status displays */
  readonly selection: Effect.Effect<Selection<RoutingAccount>>
}

export const make = Effect.gen(function* () {
  const store = yield* Store
  const credentials = yield* Credentials
  const quotaCache = yield* QuotaCache
  const transports = yield* Transports
  const identity = yield* HostIdentity

  /** A corrupt store never stops the main account: route with the defaults (main only). */
  const currentDocument = store.read.pipe(Effect.orElseSucceed(() => emptyDocument()))

  const selectFrom = (doc: StoreDocument) =>
    Effect.gen(function* () {
      const quota = yield* quotaCache.all
      const now = yield* Clock.currentTimeMillis
      const accounts = routingAccounts(doc, quota)
      yield* noteResets(accounts, now)
      return selectAccounts(accounts, policyOf(doc), now)
    })
  const selection = Effect.flatMap(currentDocument, selectFrom)

  // Under load many requests in flight hit the same usage limit at once. The mark is written behind
  // (Store.observe): none of them waits for the lock, and `read` shows the mark at once, so the requests after
  // the first find it there and add nothing.
  const exhaustedIn = (doc: StoreDocument, key: string) =>
    key === MAIN ? doc.main?.exhaustedUntil : doc.accounts.find((a) => keyOf(a) === key)?.exhaustedUntil
  const markExhausted = (key: string, until: number) =>
    Effect.gen(function* () {
      if ((exhaustedIn(yield* currentDocument, key) ?? Number.NEGATIVE_INFINITY) >= until) return
      yield* store.observe({ exhausted: { [key]: until } })
      yield* Effect.logInfo("usage limit reached: the account is skipped until its reset", {
        account: key,
        until: new Date(until).toISOString(),
      })
    })

  // the accounts this process has seen out of quota, so the moment one is usable again is logged once
  const exhaustedSeen = new Set<string>()
  const noteResets = (accounts: ReadonlyArray<RoutingAccount>, now: number) => {
    let reset: Array<string> | undefined
    for (const a of accounts) {
      if (a.exhaustedUntil !== undefined && a.exhaustedUntil > now) exhaustedSeen.add(a.key)
      else if (exhaustedSeen.delete(a.key)) reset = [...(reset ?? []), a.key]
    }
    return reset === undefined
      ? Effect.void
      : Effect.forEach(
          reset,
          (account) => Effect.logInfo("usage limit reset: the account is used again", { account }),
          {
            discard: true,
          },
        )
  }

  // untraced: a span per request costs more than the selection itself
  const send = Effect.fnUntraced(function* (host: HostRequest, options: SendOptions) {
    const all = yield* options.document === undefined ? selection : selectFrom(options.document)
    const chosen =
      options.pin === undefined
        ? all
        : {
            ...all,
            candidates: all.candidates.filter((a) => a.key === options.pin),
            skipped: all.skipped.filter((s) => s.account.key === options.pin),
          }
    const attempts: Array<Attempt> = []
    if (chosen.candidates.length === 0) {
      return yield* new AllAccountsGated({
        message: `no account can serve this request: ${chosen.skipped.map((s) => describeSkip(s.account.key, s.reason)).join("; ")}`,
        retryAt: chosen.retryAt,
        ...blockerOf(chosen.retryAt, chosen.skipped, attempts),
        attempts,
      })
    }
    const transport = transports.select(options.settings)
    let last: RequestRefused | BackendUnreachable | undefined

    for (const candidate of chosen.candidates) {
      const key = candidate.key
      let grant = yield* credentials.access(key).pipe(
        Effect.catch((error) => {
          attempts.push({ account: key, outcome: error._tag, message: error.message })
          return Effect.succeed(undefined)
        }),
      )
      let refreshed = false
      let burstRetried = false
      while (grant !== undefined) {
        const prepared = prepareCodexRequest(host, {
          accessToken: grant.access,
          accountId: grant.accountId,
          settings: options.settings,
          identity,
        })
        const end = watchEnd()
        const listener: StreamEventListener = (event) => {
          if (event._tag === "Quota") quotaCache.offer(key, event.snapshot)
          end.hear(event)
          options.onEvent?.(key, event)
        }
        // trace: what goes on the wire, short of the body (the logger redacts the authorization header)
        yield* Effect.logTrace("sending", {
          account: key,
          url: prepared.url,
          headers: prepared.headers,
          bodyBytes: prepared.body.length,
        })
        const result = yield* transport
          .send(
            {
              url: prepared.url,
              headers: prepared.headers,
              body: prepared.body,
              json: prepared.json,
              accountKey: key,
              sessionKey: prepared.poolKey,
              ...(options.signal === undefined ? {} : { signal: options.signal }),
            },
            listener,
          )
          .pipe(Effect.result)
        if (result._tag === "Success") {
          attempts.push({ account: key, outcome: "served" })
          yield* Effect.logTrace("answered", {
            account: key,
            transport: result.success.transport,
            status: result.success.status,
            headers: result.success.headers,
          })
          return {
            account: key,
            request: { url: prepared.url, headers: prepared.headers, body: prepared.body, json: prepared.json },
            response: result.success,
            attempts,
            sessionKey: prepared.sessionKey,
            ended: end.ended,
            onEnd: end.onEnd,
          }
        }
        const error = result.failure
        if (error._tag === "TransportAborted") return yield* new RequestAborted()
        if (error._tag !== "PreOutputFailure") {
          attempts.push({ account: key, outcome: error._tag, message: "message" in error ? error.message : undefined })
          last = new BackendUnreachable({ message: unreachableMessage(error), attempts })
          break
        }
        // recorded at once for routing; an exhausted account's urgent write runs beside the request, not before it
        if (error.quota !== undefined) quotaCache.offer(key, error.quota)
        const failure = error.failure
        attempts.push({ account: key, outcome: failure._tag, message: failure.message })
        yield* Effect.logDebug("refused before any output", {
          account: key,
          status: error.status,
          failure: failure._tag,
          reason: failure.message,
        })
        yield* Effect.logTrace("refusal headers", { account: key, headers: error.headers })
        last = new RequestRefused({
          message: failure.message,
          status: error.status,
          failure,
          headers: error.headers,
          account: key,
          attempts,
        })
        if (failure._tag === "AuthFailure" && !refreshed) {
          refreshed = true
          const rejected = grant.access
          grant = yield* credentials.afterUnauthorized(key, rejected).pipe(
            Effect.catch((e) => {
              attempts.push({ account: key, outcome: e._tag, message: e.message })
              return Effect.succeed(undefined)
            }),
          )
          continue
        }
        // an overload with a server-sent delay is waited out too: another account meets the same busy backend
        const waitable =
          failure._tag === "BurstRateLimit" || (failure._tag === "Transient" && failure.retryAfterMs !== undefined)
        if (waitable && !burstRetried) {
          burstRetried = true
          yield* Effect.sleep(Math.min(failure.retryAfterMs ?? 1_000, MAX_BURST_WAIT_MS))
          continue
        }
        if (failure._tag === "UsageLimit") {
          const now = yield* Clock.currentTimeMillis
          yield* markExhausted(key, failure.resetsAt ?? now + DEFAULT_EXHAUSTED_MS)
        }
        if (failure._tag === "ContextTooLong" || failure._tag === "BadRequest") return yield* last
        break
      }
    }
    if (last !== undefined) return yield* last
    return yield* new AllAccountsGated({
      message: `no account could be used: ${attempts.map((a) => `${a.account}: ${a.message ?? a.outcome}`).join("; ")}`,
      ...blockerOf(undefined, chosen.skipped, attempts),
      attempts,
    })
  })

  return RoutedClient.of({ send, selection })
})

const unreachableMessage = (error: Exclude<TransportError, { _tag: "PreOutputFailure" }>): string =>
  error._tag === "TransportTimeout"
    ? error.phase === "connect"
      ? `the Codex backend could not be reached (no connection within ${error.afterMs} ms)`
      : error.phase === "first-byte"
        ? `the Codex backend did not answer (stalled: no first byte within ${error.afterMs} ms)`
        : `the Codex backend stopped answering (stalled: nothing for ${error.afterMs} ms)`
    : error._tag === "ConnectFailure"
      ? `the Codex backend could not be reached: ${error.message}`
      : "the request was cancelled"

export class RoutedClient extends Context.Service<RoutedClient, RoutedClientShape>()(
  "@cortexkit/openai-auth-accounts/RoutedClient",
) {
  static readonly layer = Layer.effect(RoutedClient, make)
}
