/**
 * Access tokens for every account, refreshed without ever burning a refresh token.
 *
 * Refresh tokens are single-use: whoever refreshes second with the same token is logged out. So a refresh is
 * single-flight inside the process (one mutex per account) and across processes (the store's file lock), and
 * inside the lock the stored tokens are re-read first (CredentialsRefresh.ts). An account is marked "needs
 * re-login" only on the issuer's own refusal, a state the UI and CLI show and that is never retried in a loop;
 * anything else (the issuer down, a proxy page, the store locked) is transient, not persisted, and backed off.
 *
 * The main account's tokens live in the host (OpenCode's `auth.json`), reached through the
 * `MainCredentials` port the adapter provides; fallback accounts live in our store.
 */
import { Issuer } from "@cortexkit/openai-auth-core/OAuth"
import { Clock, Context, Effect, Layer, Option, type Redacted } from "effect"
import { findAccount, keyOf, MAIN } from "./AccountKey.ts"
import {
  type AccessGrant,
  type CredentialsShape,
  CredentialsUnavailable,
  grantOf,
  MainCredentials,
} from "./CredentialsContract.ts"
import {
  EXPIRY_SKEW_MS,
  fresh,
  logAdopted,
  makeRefresh,
  PERMANENT_REFRESH_FAILURES,
  sameToken,
} from "./CredentialsRefresh.ts"
import { makeKeyedMutex } from "./KeyedMutex.ts"
import { Store } from "./Store.ts"

// the contract is part of this module's face: every name of it is reachable from here as before the split
export * from "./CredentialsContract.ts"

export { EXPIRY_SKEW_MS, PERMANENT_REFRESH_FAILURES }

export const BACKOFF_BASE_MS = 5_000
export const BACKOFF_MAX_MS = 5 * 60_000

export const make = Effect.gen(function* () {
  const store = yield* Store
  const host = yield* MainCredentials
  const refresh = yield* makeRefresh
  // captured when the layer is built, so a caller whose own context lacks the setting still refreshes there
  const issuer = yield* Issuer
  const cache = new Map<string, AccessGrant>()
  const single = makeKeyedMutex()

  const unavailable = (key: string) => (error: { readonly message: string }) =>
    new CredentialsUnavailable({ key, message: error.message })

  const remember = (grant: AccessGrant) => {
    cache.set(grant.key, grant)
    return grant
  }

  /**
   * After a transient refresh failure (issuer down, store locked) the account is left alone for a while
   * instead of hammering the token endpoint on every request: 5 s, doubling up to 5 minutes.
   */
  const backoff = new Map<string, { readonly until: number; readonly failures: number; readonly message: string }>()
  const refreshWithBackoff = (key: string, rejected: Redacted.Redacted<string> | undefined, now: number) => {
    const waiting = backoff.get(key)
    if (waiting !== undefined && waiting.until > now) {
      return Effect.fail(
        new CredentialsUnavailable({
          key,
          message: `${waiting.message} (next refresh attempt in ${Math.ceil((waiting.until - now) / 1000)} s)`,
        }),
      )
    }
    return refresh(key, rejected, issuer).pipe(
      Effect.tap(() => Effect.sync(() => backoff.delete(key))),
      Effect.tapError((error) =>
        error._tag === "CredentialsUnavailable"
          ? Effect.sync(() => {
              const failures = (waiting?.failures ?? 0) + 1
              const delay = Math.min(BACKOFF_BASE_MS * 2 ** (failures - 1), BACKOFF_MAX_MS)
              backoff.set(key, { until: now + delay, failures, message: error.message })
              return delay
            }).pipe(
              Effect.flatMap((delay) =>
                Effect.logWarning("token refresh failed; the account is left alone for a while", {
                  account: key,
                  reason: error.message,
                  retryInMs: delay,
                }),
              ),
            )
          : Effect.void,
      ),
    )
  }

  const obtain = (key: string, rejected: Redacted.Redacted<string> | undefined) =>
    single.withLock(key)(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const cached = cache.get(key)
        // a waiter that queued behind a refresh finds the new token here and spends nothing
        if (
          cached !== undefined &&
          fresh(cached.expiresAt, now) &&
          (rejected === undefined || !sameToken(cached.access, rejected))
        ) {
          return cached
        }
        if (key === MAIN && rejected === undefined) {
          const current = yield* host.read.pipe(Effect.mapError(unavailable(MAIN)))
          if (Option.isSome(current) && fresh(current.value.expiresAt, now)) {
            if (cached !== undefined && !sameToken(cached.access, current.value.access)) yield* logAdopted(MAIN)
            return remember(grantOf(MAIN, current.value))
          }
        }
        if (key !== MAIN && rejected === undefined) {
          const doc = yield* store.read.pipe(Effect.mapError(unavailable(key)))
          const account = doc.accounts.find((a) => keyOf(a) === key)
          if (account !== undefined && account.state === "active" && fresh(account.expiresAt, now)) {
            if (cached !== undefined && !sameToken(cached.access, account.access)) yield* logAdopted(key)
            return remember(grantOf(key, { ...account, accountId: account.id }))
          }
        }
        return remember(yield* refreshWithBackoff(key, rejected, now))
      }),
    )

  return {
    // untraced: every request asks, and almost always gets the cached grant, then without taking the mutex
    // (a cached grant that is fresh is what the locked path would return too)
    access: (key: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const cached = cache.get(key)
        return cached !== undefined && fresh(cached.expiresAt, now) ? Effect.succeed(cached) : obtain(key, undefined)
      }),
    afterUnauthorized: (key: string, rejected: Redacted.Redacted<string>) =>
      obtain(key, rejected).pipe(Effect.withSpan("Credentials.afterUnauthorized")),
  } satisfies CredentialsShape
})

export class Credentials extends Context.Service<Credentials, CredentialsShape>()(
  "@cortexkit/openai-auth-accounts/Credentials",
) {
  static readonly layer = Layer.effect(Credentials, make)
}

export { findAccount }
