/**
 * What `Credentials` promises and what it needs from its host: the grant a request gets, the errors it may
 * see, and the `MainCredentials` port through which the main account's tokens are read from and written to
 * the host's own store (OpenCode's `auth.json`). Split from `Credentials.ts`, which re-exports all of it.
 */

import { accountIdOf, parseClaims } from "@cortexkit/openai-auth-core/Jwt"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Context, Effect, Layer, Option, Redacted, Result, Schema } from "effect"

export interface HostTokens {
  readonly access: Redacted.Redacted<string>
  readonly refresh: Redacted.Redacted<string>
  /** epoch ms */
  readonly expiresAt: number
  readonly accountId?: string | undefined
}

export class MainCredentialsError extends Schema.TaggedError<MainCredentialsError>()("MainCredentialsError", {
  message: Schema.String,
}) {}

/** Reading and writing the host's tokens. */
export interface MainCredentialsAccess {
  /** the host's current OAuth tokens for `openai` (None when it holds none, or an API key) */
  readonly read: Effect.Effect<Option.Option<HostTokens>, MainCredentialsError>
  readonly write: (tokens: TokenSet) => Effect.Effect<void, MainCredentialsError>
}

export interface MainCredentialsShape extends MainCredentialsAccess {
  /**
   * For a host whose store has a lock of its own and whose own code refreshes under it (Pi's `auth.json`):
   * runs `body` holding that lock, with `held` reading and writing as its holder. A refresh of the main
   * account runs inside it, so the host's refresher and ours never spend the same refresh token. It is
   * taken before our store's lock and never while that lock is held, so `read`/`write` outside `body` must
   * not wait for it. Absent: our store's lock alone serialises refreshes (OpenCode's store has no lock).
   */
  readonly exclusive?: <A, E, R>(
    body: (held: MainCredentialsAccess) => Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E | MainCredentialsError, R>
}

/** The host's side of the main account: where its tokens are read from and written back to. */
export class MainCredentials extends Context.Service<MainCredentials, MainCredentialsShape>()(
  "@cortexkit/openai-auth-accounts/MainCredentials",
) {
  /** no main account (a script, the CLI before login): every access to `main` says so */
  static readonly layerNone = Layer.succeed(MainCredentials, {
    read: Effect.succeed(Option.none()),
    write: () => Effect.fail(new MainCredentialsError({ message: "no host auth store" })),
  })
}

export interface AccessGrant {
  readonly key: string
  readonly accountId: string
  readonly access: Redacted.Redacted<string>
  readonly expiresAt: number
}

export const grantOf = (
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

/** The account cannot be used until the user logs in again. */
export class NeedsRelogin extends Schema.TaggedError<NeedsRelogin>()("NeedsRelogin", {
  key: Schema.String,
  reason: Schema.String,
  message: Schema.String,
}) {}

/** The account could not be reached right now (token endpoint down, store locked or unreadable). */
export class CredentialsUnavailable extends Schema.TaggedError<CredentialsUnavailable>()("CredentialsUnavailable", {
  key: Schema.String,
  message: Schema.String,
}) {}

export type CredentialsError = NeedsRelogin | CredentialsUnavailable

export interface CredentialsShape {
  /** a usable access token: the cached one while it is fresh, else a coordinated refresh */
  readonly access: (key: string) => Effect.Effect<AccessGrant, CredentialsError>
  /**
   * The server refused `rejected` with a 401: refresh once, unless the stored token already differs from the
   * rejected one (someone refreshed meanwhile), in which case that one is returned.
   */
  readonly afterUnauthorized: (
    key: string,
    rejected: Redacted.Redacted<string>,
  ) => Effect.Effect<AccessGrant, CredentialsError>
}
