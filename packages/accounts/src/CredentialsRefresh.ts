/**
 * One coordinated refresh of one account, under the store's cross-process lock (Credentials.ts decides when).
 *
 * Inside the lock the stored tokens are read again first: when another process already refreshed, its tokens
 * are adopted instead of spending the refresh token again. Only the issuer's own refusals are permanent
 * (`refresh_token_reused`, expired, revoked, `invalid_grant`): a proxy page, a captive portal or garbage from
 * the token endpoint is transient and the token is kept (TokenClient classifies). A refusal triggers one more
 * look for a newer token before the account is marked "needs re-login".
 *
 * The lock may be broken while this process is paused inside it (see FileLock.ts). Before the refresh token is
 * spent the lock is checked, and after it the store's write is fenced; when the write was fenced, the outcome
 * (the new tokens, or the refusal) is settled again on the document as it is now, without spending anything:
 * new tokens are installed unless the store already moved on, a refusal of a token someone else already
 * replaced adopts theirs.
 */
import { HostIdentity, mainLoginOf } from "@cortexkit/openai-auth-core/HostIdentity"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { type RefreshError, TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { Clock, Effect, Option, Redacted, Result } from "effect"
import { keyOf, MAIN } from "./AccountKey.ts"
import {
  type AccessGrant,
  type CredentialsError,
  CredentialsUnavailable,
  grantOf,
  type HostTokens,
  MainCredentials,
  type MainCredentialsAccess,
  NeedsRelogin,
} from "./CredentialsContract.ts"
import { FileLock } from "./FileLock.ts"
import { type HeldLock, type Modification, Store } from "./Store.ts"
import type { Account, StoreDocument } from "./StoreSchema.ts"

/** A token is refreshed this long before it expires, so a request never leaves with a token about to die. */
export const EXPIRY_SKEW_MS = 60_000

/** the issuer's own refusals: the refresh token is dead, only a new login helps (a host refreshing itself asks here) */
export const PERMANENT_REFRESH_FAILURES: ReadonlySet<string> = new Set([
  "RefreshTokenReused",
  "RefreshTokenExpired",
  "RefreshTokenInvalidated",
  "RefreshRejected",
])

/** how many times a refresh starts over when the lock changed hands under it */
const ROUNDS = 3

export const fresh = (expiresAt: number, now: number) => expiresAt - EXPIRY_SKEW_MS > now

export const sameToken = (a: Redacted.Redacted<string>, b: Redacted.Redacted<string>) =>
  Redacted.value(a) === Redacted.value(b)

// who refreshed is the first question when tokens go wrong: this process, or another one sharing the stores
const logRefreshed = (account: string, expiresAt: number) =>
  Effect.logInfo("token refreshed", { account, by: "this process", expiresAt: new Date(expiresAt).toISOString() })
export const logAdopted = (account: string) =>
  Effect.logInfo("using a token another process refreshed", { account, by: "another process" })
const logNeedsRelogin = (account: string, reason: string) =>
  Effect.logWarning("the account needs a new login (its refresh token was refused)", { account, reason })

/** What spending a refresh token gave: new tokens, or the issuer's permanent refusal. */
type Spent =
  | { readonly _tag: "Refreshed"; readonly spent: Redacted.Redacted<string>; readonly tokens: TokenSet }
  | { readonly _tag: "Refused"; readonly spent: Redacted.Redacted<string>; readonly error: RefreshError }

/** the grant, the reason there is none, or "again": the lock changed hands, start over */
type Decision = Result.Result<AccessGrant, CredentialsError> | "again"

/** one run under the lock: the decision, and what was spent on the way (settled again if the write is fenced) */
interface Step {
  readonly decision: Decision
  readonly spent?: Spent
}

const decided = (decision: Decision, spent?: Spent): Step => (spent === undefined ? { decision } : { decision, spent })

const reloginMessage = (name: string, error: { readonly _tag: string; readonly message: string }) =>
  error._tag === "RefreshTokenReused"
    ? `account ${name}: its refresh token was already used elsewhere and no newer one was found; log in again`
    : `account ${name}: refresh refused (${error.message}); log in again`

const withAccount = (doc: StoreDocument, key: string, f: (account: Account) => Account): StoreDocument => ({
  ...doc,
  accounts: doc.accounts.map((a) => (keyOf(a) === key ? f(a) : a)),
})

const installed = (doc: StoreDocument, key: string, t: TokenSet): StoreDocument =>
  withAccount(doc, key, (a) => {
    const { needsReloginReason: _reason, ...rest } = a
    return {
      ...rest,
      state: "active",
      access: t.access,
      refresh: t.refresh,
      ...(t.idToken === undefined ? {} : { idToken: t.idToken }),
      expiresAt: t.expiresAt,
      ...(t.plan === undefined ? {} : { plan: t.plan }),
      ...(t.email === undefined ? {} : { email: t.email }),
    }
  })

/** `main`'s "needs re-login" mark lifted (its exhaustion mark kept); the same document when there is none */
const mainCleared = (doc: StoreDocument | undefined): StoreDocument | undefined => {
  if (doc?.main?.state !== "needs-relogin") return doc
  const { needsReloginReason: _reason, ...main } = doc.main
  return main.exhaustedUntil === undefined
    ? { ...doc, main: undefined }
    : { ...doc, main: { ...main, state: "active" as const } }
}

export const makeRefresh = Effect.gen(function* () {
  const store = yield* Store
  const lock = yield* FileLock
  const tokens = yield* TokenClient
  const host = yield* MainCredentials

  const unavailable = (key: string) => (error: { readonly message: string }) =>
    new CredentialsUnavailable({ key, message: error.message })

  /** spends `refresh` at the issuer; a failure that is not the issuer's own refusal fails as unavailable */
  const spend = (key: string, refresh: Redacted.Redacted<string>, issuer: string) =>
    tokens.refresh(refresh, { issuer }).pipe(
      Effect.tap((t) => logRefreshed(key, t.expiresAt)),
      Effect.map((t): Spent => ({ _tag: "Refreshed", spent: refresh, tokens: t })),
      Effect.catch((error) =>
        PERMANENT_REFRESH_FAILURES.has(error._tag)
          ? Effect.succeed<Spent>({ _tag: "Refused", spent: refresh, error })
          : Effect.fail(unavailable(key)(error)),
      ),
    )

  // ---- fallback accounts: their tokens live in the store -----------------------------------------------------

  /** what the store keeps after `outcome`, given the document as it is now */
  const settleFallback = (doc: StoreDocument, key: string, outcome: Spent, now: number) =>
    Effect.gen(function* () {
      const account = doc.accounts.find((a) => keyOf(a) === key)
      if (account === undefined) {
        const removed = new NeedsRelogin({ key, reason: "removed", message: `account ${key} is not in the store` })
        return [decided(Result.fail(removed)), doc] as const
      }
      if (!sameToken(account.refresh, outcome.spent)) {
        // the store moved on while this process was paused: another process refreshed, or the user logged in
        if (outcome._tag === "Refreshed") {
          const grant = Result.succeed(grantOf(key, outcome.tokens))
          return [
            decided(grant),
            account.state === "needs-relogin" ? installed(doc, key, outcome.tokens) : doc,
          ] as const
        }
        if (account.state === "active" && fresh(account.expiresAt, now)) {
          yield* logAdopted(key)
          return [decided(Result.succeed(grantOf(key, { ...account, accountId: account.id }))), doc] as const
        }
        return [decided("again"), doc] as const
      }
      if (outcome._tag === "Refreshed") {
        return [decided(Result.succeed(grantOf(key, outcome.tokens))), installed(doc, key, outcome.tokens)] as const
      }
      // the same account logged in as main may hold a newer token than ours
      const hostTokens = yield* host.read.pipe(Effect.orElseSucceed(() => Option.none<HostTokens>()))
      if (
        Option.isSome(hostTokens) &&
        hostTokens.value.accountId === account.id &&
        !sameToken(hostTokens.value.refresh, account.refresh) &&
        fresh(hostTokens.value.expiresAt, now)
      ) {
        yield* logAdopted(key)
        return [decided(Result.succeed(grantOf(key, { ...hostTokens.value, accountId: account.id }))), doc] as const
      }
      const error = outcome.error
      const relogin = new NeedsRelogin({
        key,
        reason: error._tag,
        message: reloginMessage(account.label ?? key, error),
      })
      yield* logNeedsRelogin(key, error._tag)
      const marked = withAccount(doc, key, (a) => ({ ...a, state: "needs-relogin", needsReloginReason: error._tag }))
      return [decided(Result.fail(relogin)), marked] as const
    })

  const fallbackStep =
    (key: string, rejected: Redacted.Redacted<string> | undefined, issuer: string) =>
    (doc: StoreDocument, held: HeldLock) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const account = doc.accounts.find((a) => keyOf(a) === key)
        if (account === undefined || account.state === "needs-relogin") {
          const relogin =
            account === undefined
              ? new NeedsRelogin({ key, reason: "removed", message: `account ${key} is not in the store` })
              : new NeedsRelogin({
                  key,
                  reason: account.needsReloginReason ?? "needs-relogin",
                  message: `account ${account.label ?? key} needs a new login (openai-auth login)`,
                })
          return [decided(Result.fail(relogin)), doc] as const
        }
        const someoneElseRefreshed = rejected !== undefined && !sameToken(account.access, rejected)
        if ((rejected === undefined || someoneElseRefreshed) && fresh(account.expiresAt, now)) {
          if (someoneElseRefreshed) yield* logAdopted(key)
          return [decided(Result.succeed(grantOf(key, { ...account, accountId: account.id }))), doc] as const
        }
        // never spend a refresh token under a lock that is no longer ours
        if (!(yield* held.stillHeld)) return [decided("again"), doc] as const
        const outcome = yield* spend(key, account.refresh, issuer)
        const [step, next] = yield* settleFallback(doc, key, outcome, now)
        return [{ ...step, spent: outcome }, next] as const
      })

  // ---- the main account: its tokens live in the host (OpenCode's or Pi's auth.json); the store records its state ----

  const noLogin = new NeedsRelogin({
    key: MAIN,
    reason: "no-login",
    message: `no ChatGPT login: run ${mainLoginOf(yield* HostIdentity).command}`,
  })

  /** what the host and the store keep after `outcome`, given both as they are now (`doc` undefined: corrupt) */
  const settleMain = (access: MainCredentialsAccess, doc: StoreDocument | undefined, outcome: Spent, now: number) =>
    Effect.gen(function* () {
      const current = yield* access.read.pipe(Effect.mapError(unavailable(MAIN)))
      if (Option.isNone(current)) return [decided(Result.fail(noLogin)), doc] as const
      const stored = current.value
      if (!sameToken(stored.refresh, outcome.spent)) {
        // our own write of the new tokens, or another writer's (OpenCode itself, another process)
        if (outcome._tag === "Refreshed" && sameToken(stored.refresh, outcome.tokens.refresh)) {
          return [decided(Result.succeed(grantOf(MAIN, outcome.tokens))), mainCleared(doc)] as const
        }
        if (fresh(stored.expiresAt, now)) {
          yield* logAdopted(MAIN)
          return [decided(Result.succeed(grantOf(MAIN, stored))), mainCleared(doc)] as const
        }
        return [decided("again"), doc] as const
      }
      if (outcome._tag === "Refreshed") {
        yield* access.write(outcome.tokens).pipe(Effect.mapError(unavailable(MAIN)))
        return [decided(Result.succeed(grantOf(MAIN, outcome.tokens))), mainCleared(doc)] as const
      }
      const error = outcome.error
      const relogin = new NeedsRelogin({ key: MAIN, reason: error._tag, message: reloginMessage(MAIN, error) })
      yield* logNeedsRelogin(MAIN, error._tag)
      const marked =
        doc === undefined ? doc : { ...doc, main: { state: "needs-relogin" as const, needsReloginReason: error._tag } }
      return [decided(Result.fail(relogin)), marked] as const
    })

  const mainStep =
    (access: MainCredentialsAccess, rejected: Redacted.Redacted<string> | undefined, issuer: string) =>
    (doc: StoreDocument | undefined, held: HeldLock) =>
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const current = yield* access.read.pipe(Effect.mapError(unavailable(MAIN)))
        if (Option.isNone(current)) return [decided(Result.fail(noLogin)), doc] as const
        const stored = current.value
        const someoneElseRefreshed = rejected !== undefined && !sameToken(stored.access, rejected)
        if ((rejected === undefined || someoneElseRefreshed) && fresh(stored.expiresAt, now)) {
          if (someoneElseRefreshed) yield* logAdopted(MAIN)
          return [decided(Result.succeed(grantOf(MAIN, stored))), doc] as const
        }
        if (!(yield* held.stillHeld)) return [decided("again"), doc] as const
        const outcome = yield* spend(MAIN, stored.refresh, issuer)
        const [step, next] = yield* settleMain(access, doc, outcome, now)
        return [{ ...step, spent: outcome }, next] as const
      })

  const storeFailure = (key: string) => (e: { readonly message: string }) => Effect.fail(unavailable(key)(e))

  /** the main account's round under our store's lock, reading and writing the host's tokens through `access` */
  const mainRound = (
    access: MainCredentialsAccess,
    rejected: Redacted.Redacted<string> | undefined,
    issuer: string,
    now: number,
  ) =>
    Effect.gen(function* () {
      const step = mainStep(access, rejected, issuer)
      const attempt = yield* store
        .modifyOnce(
          (doc, held): Effect.Effect<Modification<Step>, CredentialsError> =>
            Effect.map(step(doc, held), ([s, next]) => [s, next ?? doc] as const),
        )
        .pipe(
          // an unreadable store does not stop the main account: the lock alone serialises its refreshes
          Effect.catchTag("StoreCorrupt", () =>
            lock.withLock(`${store.path}.lock`, (handle) =>
              Effect.map(step(undefined, handle), ([s]) => ({ result: s, fenced: false })),
            ),
          ),
        )
      const spent = attempt.result.spent
      if (!attempt.fenced || spent === undefined) return attempt.result.decision
      return yield* store.modify((doc) =>
        Effect.map(settleMain(access, doc, spent, now), ([s, next]) => [s.decision, next ?? doc] as const),
      )
    })

  /** one round: the step under the lock, then (when its write was fenced) its outcome settled on the store as it is */
  const round = (key: string, rejected: Redacted.Redacted<string> | undefined, issuer: string) =>
    Effect.gen(function* () {
      const now = yield* Clock.currentTimeMillis
      if (key === MAIN) {
        // a host whose store has a lock of its own (Pi) is entered first: its refresher and ours never both spend
        const underStoreLock = (access: MainCredentialsAccess) => mainRound(access, rejected, issuer, now)
        return yield* host.exclusive === undefined
          ? underStoreLock(host)
          : host
              .exclusive(underStoreLock)
              .pipe(Effect.catchTag("MainCredentialsError", (e) => Effect.fail(unavailable(MAIN)(e))))
      }
      const attempt = yield* store.modifyOnce(fallbackStep(key, rejected, issuer))
      const spent = attempt.result.spent
      if (!attempt.fenced || spent === undefined) return attempt.result.decision
      return yield* store.modify((doc) =>
        Effect.map(settleFallback(doc, key, spent, now), ([s, next]) => [s.decision, next] as const),
      )
    }).pipe(
      Effect.catchTag(
        ["LockTimeout", "FileError", "StoreCorrupt", "StoreInvalidUpdate", "StoreFenced"],
        storeFailure(key),
      ),
    )

  /** a grant for `key`, refreshing at most once; `rejected` is the access token a 401 refused */
  return (key: string, rejected: Redacted.Redacted<string> | undefined, issuer: string) =>
    Effect.gen(function* () {
      for (let i = 0; i < ROUNDS; i++) {
        const decision = yield* round(key, rejected, issuer)
        if (decision !== "again") return yield* Effect.fromResult(decision)
      }
      return yield* new CredentialsUnavailable({
        key,
        message: "the store's lock changed hands during every refresh attempt (another process kept breaking it)",
      })
    })
})
