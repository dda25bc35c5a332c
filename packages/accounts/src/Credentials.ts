/**
 * Access tokens for every account, refreshed without ever burning a refresh token.
 *
 * Refresh tokens are single-use: whoever refreshes second with the same token is logged out. So a refresh is
 * single-flight inside the process (one permit per account) and across processes (the store's file lock),
 * and inside the lock the stored tokens are re-read first: when another process already refreshed, its
 * tokens are adopted instead of spending the refresh token again. A `refresh_token_reused` answer triggers
 * one more look for a newer token in every store we can read before the account is marked "needs re-login",
 * a state the UI and CLI show and that is never retried in a loop. Transient failures are not persisted.
 *
 * The main account's tokens live in the host (OpenCode's `auth.json`), reached through the
 * `MainCredentials` port the adapter provides; fallback accounts live in our store.
 */
import { accountIdOf, parseClaims } from "@cortexkit/openai-auth-core/Jwt"
import { Issuer } from "@cortexkit/openai-auth-core/OAuth"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { Clock, Context, Effect, Layer, Option, Redacted, Result, Semaphore } from "effect"
import { findAccount, keyOf, MAIN } from "./AccountKey.ts"
import {
  type AccessGrant,
  type CredentialsError,
  type CredentialsShape,
  CredentialsUnavailable,
  type HostTokens,
  MainCredentials,
  NeedsRelogin,
} from "./CredentialsContract.ts"
import { FileLock } from "./FileLock.ts"
import { Store } from "./Store.ts"
import type { Account, StoreDocument } from "./StoreSchema.ts"

// the contract is part of this module's face: every name of it is reachable from here as before the split
export * from "./CredentialsContract.ts"

export const BACKOFF_BASE_MS = 5_000
export const BACKOFF_MAX_MS = 5 * 60_000

/** A token is refreshed this long before it expires, so a request never leaves with a token about to die. */
export const EXPIRY_SKEW_MS = 60_000

const PERMANENT = new Set([
  "RefreshTokenReused",
  "RefreshTokenExpired",
  "RefreshTokenInvalidated",
  "RefreshRejected",
  "MalformedTokenResponse",
])

const fresh = (expiresAt: number, now: number) => expiresAt - EXPIRY_SKEW_MS > now

// who refreshed is the first question when tokens go wrong: this process, or another one sharing the stores
const logRefreshed = (account: string, expiresAt: number) =>
  Effect.logInfo("token refreshed", { account, by: "this process", expiresAt: new Date(expiresAt).toISOString() })
const logAdopted = (account: string) =>
  Effect.logInfo("using a token another process refreshed", { account, by: "another process" })
const logNeedsRelogin = (account: string, reason: string) =>
  Effect.logWarning("the account needs a new login (its refresh token was refused)", { account, reason })

const sameToken = (a: Redacted.Redacted<string>, b: Redacted.Redacted<string>) =>
  Redacted.value(a) === Redacted.value(b)

const withAccount = (doc: StoreDocument, key: string, f: (account: Account) => Account): StoreDocument => ({
  ...doc,
  accounts: doc.accounts.map((a) => (keyOf(a) === key ? f(a) : a)),
})

export const make = Effect.gen(function* () {
  const store = yield* Store
  const lock = yield* FileLock
  const tokens = yield* TokenClient
  const host = yield* MainCredentials
  // captured when the layer is built, so a caller whose own context lacks the setting still refreshes there
  const issuer = yield* Issuer
  const cache = new Map<string, AccessGrant>()
  const permits = new Map<string, Semaphore.Semaphore>()
  const permitFor = (key: string) => {
    let permit = permits.get(key)
    if (permit === undefined) {
      permit = Semaphore.makeUnsafe(1)
      permits.set(key, permit)
    }
    return permit
  }

  const unavailable = (key: string) => (error: { readonly message: string }) =>
    new CredentialsUnavailable({ key, message: error.message })

  const remember = (grant: AccessGrant) => {
    cache.set(grant.key, grant)
    return grant
  }

  /**
   * Refresh the main account with the host store re-read under the store's lock. The outcome is recorded in
   * the store (`main.state`); when the store itself is unreadable the lock alone still serialises refreshes,
   * so a corrupt file never stops the main account.
   */
  const refreshMain = (rejected: Redacted.Redacted<string> | undefined) => {
    let grant: AccessGrant | undefined
    let failure: NeedsRelogin | undefined
    const attempt = (doc: StoreDocument | undefined) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const current = yield* host.read.pipe(Effect.mapError(unavailable(MAIN)))
        if (Option.isNone(current)) {
          return yield* new NeedsRelogin({
            key: MAIN,
            reason: "no-login",
            message: "no ChatGPT login: run /login openai",
          })
        }
        const stored = current.value
        const someoneElseRefreshed = rejected !== undefined && !sameToken(stored.access, rejected)
        if ((rejected === undefined || someoneElseRefreshed) && fresh(stored.expiresAt, now)) {
          grant = grantOf(MAIN, stored)
          if (someoneElseRefreshed) yield* logAdopted(MAIN)
          return doc
        }
        const outcome = yield* tokens.refresh(stored.refresh, { issuer }).pipe(Effect.result)
        if (outcome._tag === "Success") {
          yield* host.write(outcome.success).pipe(Effect.mapError(unavailable(MAIN)))
          grant = grantOf(MAIN, outcome.success)
          yield* logRefreshed(MAIN, outcome.success.expiresAt)
          return doc === undefined || doc.main === undefined ? doc : { ...doc, main: undefined }
        }
        const error = outcome.failure
        if (!PERMANENT.has(error._tag)) return yield* unavailable(MAIN)(error)
        // another writer (OpenCode itself, another plugin) may have rotated the token meanwhile
        const again = yield* host.read.pipe(Effect.mapError(unavailable(MAIN)))
        if (Option.isSome(again) && !sameToken(again.value.refresh, stored.refresh)) {
          grant = grantOf(MAIN, again.value)
          yield* logAdopted(MAIN)
          return doc
        }
        const relogin = new NeedsRelogin({ key: MAIN, reason: error._tag, message: reloginMessage(MAIN, error) })
        yield* logNeedsRelogin(MAIN, error._tag)
        if (doc === undefined) return yield* relogin
        // persist the state, then fail: the write must not be lost with the error
        failure = relogin
        return { ...doc, main: { state: "needs-relogin" as const, needsReloginReason: error._tag } }
      })
    return store
      .update((doc) => attempt(doc).pipe(Effect.map((next) => next ?? doc)))
      .pipe(
        Effect.asVoid,
        Effect.catchTag("StoreCorrupt", () =>
          lock.withLock(`${store.path}.lock`, () => attempt(undefined)).pipe(Effect.asVoid),
        ),
        Effect.catchTag(["LockTimeout", "FileError", "StoreInvalidUpdate"], (e) => Effect.fail(unavailable(MAIN)(e))),
        Effect.flatMap(
          (): Effect.Effect<AccessGrant, CredentialsError> =>
            failure !== undefined
              ? Effect.fail(failure)
              : grant === undefined
                ? Effect.fail(new CredentialsUnavailable({ key: MAIN, message: "refresh produced no token" }))
                : Effect.succeed(grant),
        ),
      )
  }

  /** Refresh a fallback account inside a store update, so the lock covers read, refresh and write. */
  const refreshFallback = (key: string, rejected: Redacted.Redacted<string> | undefined) =>
    Effect.gen(function* () {
      let grant: AccessGrant | undefined
      let relogin: NeedsRelogin | undefined
      yield* store.update((doc) =>
        Effect.gen(function* () {
          const now = yield* Clock.currentTimeMillis
          const account = doc.accounts.find((a) => keyOf(a) === key)
          if (account === undefined) {
            relogin = new NeedsRelogin({ key, reason: "removed", message: `account ${key} is not in the store` })
            return doc
          }
          if (account.state === "needs-relogin") {
            relogin = new NeedsRelogin({
              key,
              reason: account.needsReloginReason ?? "needs-relogin",
              message: `account ${account.label ?? key} needs a new login (openai-auth login)`,
            })
            return doc
          }
          const someoneElseRefreshed = rejected !== undefined && !sameToken(account.access, rejected)
          if ((rejected === undefined || someoneElseRefreshed) && fresh(account.expiresAt, now)) {
            grant = grantOf(key, { ...account, accountId: account.id })
            if (someoneElseRefreshed) yield* logAdopted(key)
            return doc
          }
          const outcome = yield* tokens.refresh(account.refresh, { issuer }).pipe(Effect.result)
          if (outcome._tag === "Success") {
            const t = outcome.success
            grant = grantOf(key, t)
            yield* logRefreshed(key, t.expiresAt)
            return withAccount(doc, key, (a) => ({
              ...a,
              access: t.access,
              refresh: t.refresh,
              ...(t.idToken === undefined ? {} : { idToken: t.idToken }),
              expiresAt: t.expiresAt,
              ...(t.plan === undefined ? {} : { plan: t.plan }),
              ...(t.email === undefined ? {} : { email: t.email }),
            }))
          }
          const error = outcome.failure
          if (!PERMANENT.has(error._tag)) return yield* unavailable(key)(error)
          // the same account logged in as main may hold a newer token than ours
          const hostTokens = yield* host.read.pipe(Effect.orElseSucceed(() => Option.none<HostTokens>()))
          if (
            Option.isSome(hostTokens) &&
            hostTokens.value.accountId === account.id &&
            !sameToken(hostTokens.value.refresh, account.refresh) &&
            fresh(hostTokens.value.expiresAt, now)
          ) {
            grant = grantOf(key, { ...hostTokens.value, accountId: account.id })
            yield* logAdopted(key)
            return doc
          }
          relogin = new NeedsRelogin({ key, reason: error._tag, message: reloginMessage(account.label ?? key, error) })
          yield* logNeedsRelogin(key, error._tag)
          return withAccount(doc, key, (a) => ({ ...a, state: "needs-relogin", needsReloginReason: error._tag }))
        }),
      )
      if (relogin !== undefined) return yield* relogin
      if (grant === undefined) return yield* new CredentialsUnavailable({ key, message: "refresh produced no token" })
      return grant
    }).pipe(
      Effect.catchTag(["LockTimeout", "FileError", "StoreCorrupt", "StoreInvalidUpdate"], (e) =>
        Effect.fail(unavailable(key)(e)),
      ),
    )

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
    const refresh = key === MAIN ? refreshMain(rejected) : refreshFallback(key, rejected)
    return refresh.pipe(
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
    permitFor(key).withPermits(1)(
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
    // untraced: every request asks, and almost always gets the cached grant
    access: (key: string) => obtain(key, undefined),
    afterUnauthorized: (key: string, rejected: Redacted.Redacted<string>) =>
      obtain(key, rejected).pipe(Effect.withSpan("Credentials.afterUnauthorized")),
  } satisfies CredentialsShape
})

const grantOf = (
  key: string,
  t: {
    readonly access: Redacted.Redacted<string>
    readonly expiresAt: number
    readonly accountId?: string | undefined
  },
): AccessGrant => ({
  key,
  accountId: t.accountId ?? accountIdFromToken(t.access),
  access: t.access,
  expiresAt: t.expiresAt,
})

/** A host entry without `accountId` (older OpenCode logins): the access token's claims carry it. */
const accountIdFromToken = (access: Redacted.Redacted<string>): string => {
  const claims = parseClaims(Redacted.value(access), "access token")
  return (Result.isSuccess(claims) ? accountIdOf(claims.success) : undefined) ?? ""
}

const reloginMessage = (name: string, error: { readonly _tag: string; readonly message: string }) =>
  error._tag === "RefreshTokenReused"
    ? `account ${name}: its refresh token was already used elsewhere and no newer one was found; log in again`
    : `account ${name}: refresh refused (${error.message}); log in again`

export class Credentials extends Context.Service<Credentials, CredentialsShape>()(
  "@cortexkit/openai-auth-accounts/Credentials",
) {
  static readonly layer = Layer.effect(Credentials, make)
}

export { findAccount }
