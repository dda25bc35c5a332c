/**
 * Reads the identity claims out of the issuer's JWTs. Signatures are never verified: the tokens come straight
 * from the issuer over TLS and are only used to learn which account they belong to, the backend verifies them.
 * Every malformed input ends in a `JwtError`, never a throw.
 */
import { Effect, Result, Schema } from "effect"

export class JwtError extends Schema.TaggedError<JwtError>()("JwtError", {
  message: Schema.String,
}) {}

const field = <S extends Schema.Top>(schema: S) => Schema.optionalKey(Schema.NullOr(schema))

const AuthNamespace = Schema.Struct({
  chatgpt_account_id: field(Schema.String),
  chatgpt_user_id: field(Schema.String),
  user_id: field(Schema.String),
  chatgpt_plan_type: field(Schema.String),
})

export const AUTH_CLAIM = "https://api.openai.com/auth"
export const PROFILE_CLAIM = "https://api.openai.com/profile"

/** The claims we read; anything else in the payload is ignored. */
export const JwtClaims = Schema.Struct({
  chatgpt_account_id: field(Schema.String),
  chatgpt_user_id: field(Schema.String),
  user_id: field(Schema.String),
  chatgpt_plan_type: field(Schema.String),
  email: field(Schema.String),
  exp: field(Schema.Number),
  organizations: field(Schema.Array(Schema.Struct({ id: field(Schema.String) }))),
  [AUTH_CLAIM]: field(AuthNamespace),
  [PROFILE_CLAIM]: field(Schema.Struct({ email: field(Schema.String) })),
})
export type JwtClaims = typeof JwtClaims.Type

export interface Identity {
  readonly accountId: string
  readonly userId?: string
  readonly plan?: string
  readonly email?: string
  /** epoch seconds, from the access token (else the id token) */
  readonly exp?: number
}

const decodeClaimsResult = Schema.decodeUnknownResult(JwtClaims)
const BASE64URL = /^[A-Za-z0-9_-]+={0,2}$/
const utf8 = new TextDecoder("utf-8", { fatal: true })

const fail = (message: string) => Result.fail(new JwtError({ message }))

/** The payload (second segment) as a JSON object. */
export const parsePayload = (token: string, label = "token"): Result.Result<Record<string, unknown>, JwtError> => {
  const parts = token.split(".")
  if (parts.length !== 3) return fail(`${label} is not a JWT: expected 3 dot-separated parts, got ${parts.length}`)
  const segment = parts[1] ?? ""
  if (!BASE64URL.test(segment) || segment.replace(/=+$/, "").length % 4 === 1) {
    return fail(`${label} payload is not valid base64url`)
  }
  let text: string
  try {
    text = utf8.decode(Buffer.from(segment, "base64url"))
  } catch {
    return fail(`${label} payload is not valid UTF-8`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return fail(`${label} payload is not JSON`)
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    return fail(`${label} payload is not a JSON object`)
  }
  return Result.succeed(json as Record<string, unknown>)
}

export const parseClaims = (token: string, label = "token"): Result.Result<JwtClaims, JwtError> =>
  Result.flatMap(parsePayload(token, label), (payload) =>
    Result.mapError(
      decodeClaimsResult(payload),
      (issue) => new JwtError({ message: `${label} has malformed claims: ${issue.message}` }),
    ),
  )

const nonEmpty = (value: string | null | undefined): string | undefined =>
  typeof value === "string" && value !== "" ? value : undefined

/** Order from the protocol notes: top-level, then the auth namespace, then the first organization. */
export const accountIdOf = (claims: JwtClaims): string | undefined =>
  nonEmpty(claims.chatgpt_account_id) ??
  nonEmpty(claims[AUTH_CLAIM]?.chatgpt_account_id) ??
  nonEmpty(claims.organizations?.[0]?.id)

const userIdOf = (claims: JwtClaims): string | undefined =>
  nonEmpty(claims[AUTH_CLAIM]?.chatgpt_user_id) ??
  nonEmpty(claims[AUTH_CLAIM]?.user_id) ??
  nonEmpty(claims.chatgpt_user_id) ??
  nonEmpty(claims.user_id)

const planOf = (claims: JwtClaims): string | undefined =>
  nonEmpty(claims[AUTH_CLAIM]?.chatgpt_plan_type) ?? nonEmpty(claims.chatgpt_plan_type)

const emailOf = (claims: JwtClaims): string | undefined =>
  nonEmpty(claims.email) ?? nonEmpty(claims[PROFILE_CLAIM]?.email)

const expOf = (claims: JwtClaims): number | undefined =>
  typeof claims.exp === "number" && Number.isFinite(claims.exp) ? claims.exp : undefined

/**
 * The account identity from a token response: id_token first (it carries the organizations), then the
 * access token. A present-but-malformed token is an error, as is finding no account id in either.
 */
export const parseIdentity = (tokens: {
  readonly idToken?: string | undefined
  readonly accessToken: string
}): Result.Result<Identity, JwtError> => {
  const access = parseClaims(tokens.accessToken, "access_token")
  if (Result.isFailure(access)) return Result.fail(access.failure)
  let sources: ReadonlyArray<JwtClaims> = [access.success]
  if (tokens.idToken !== undefined) {
    const id = parseClaims(tokens.idToken, "id_token")
    if (Result.isFailure(id)) return Result.fail(id.failure)
    sources = [id.success, access.success]
  }
  const pick = (get: (claims: JwtClaims) => string | undefined) => {
    for (const claims of sources) {
      const value = get(claims)
      if (value !== undefined) return value
    }
    return undefined
  }
  const accountId = pick(accountIdOf)
  if (accountId === undefined) {
    return fail("no ChatGPT account id in the tokens (chatgpt_account_id / organizations claims are missing)")
  }
  const userId = pick(userIdOf)
  const plan = pick(planOf)
  const email = pick(emailOf)
  const exp = expOf(access.success) ?? (sources.length > 1 && sources[0] ? expOf(sources[0]) : undefined)
  return Result.succeed({
    accountId,
    ...(userId !== undefined ? { userId } : {}),
    ...(plan !== undefined ? { plan } : {}),
    ...(email !== undefined ? { email } : {}),
    ...(exp !== undefined ? { exp } : {}),
  })
}

export const decodeClaims = (token: string, label?: string): Effect.Effect<JwtClaims, JwtError> =>
  Effect.suspend(() => Effect.fromResult(parseClaims(token, label)))

export const decodeIdentity = (tokens: {
  readonly idToken?: string | undefined
  readonly accessToken: string
}): Effect.Effect<Identity, JwtError> => Effect.suspend(() => Effect.fromResult(parseIdentity(tokens)))
