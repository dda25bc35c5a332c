/**
 * Reads the identity claims out of the issuer's JWTs. Signatures are never verified: the tokens come straight
 * from the issuer over TLS and are only used to learn which account they belong to, the backend verifies them.
 * A token that is not a JWT ends in a `JwtError`, never a throw; inside a JWT a claim of an unexpected type is
 * taken as absent (as the seed's reader, which checks each claim's type where it reads it), so a new claim
 * shape from the issuer cannot lock anyone out.
 */
import { Effect, Option, Result, Schema } from "effect"

export class JwtError extends Schema.TaggedError<JwtError>()("JwtError", {
  message: Schema.String,
}) {}

export const AUTH_CLAIM = "https://api.openai.com/auth"
export const PROFILE_CLAIM = "https://api.openai.com/profile"

/**
 * The claims we read; anything else in the payload is ignored. Built by the first token read rather than when
 * the module loads: a logged-in plugin's requests rarely read a token, and building it at load cost ~2 MB of
 * the plugin's start memory (docs/performance.md, issue 18).
 */
const jwtClaimsSchema = () => {
  /** an optional claim; `null` or a value of another type reads as absent */
  const field = <S extends Schema.Top>(schema: S) =>
    Schema.optional(
      Schema.UndefinedOr(Schema.NullOr(schema)).pipe(
        Schema.catchDecoding(() => Effect.succeed(Option.some(undefined))),
      ),
    )
  const AuthNamespace = Schema.Struct({
    chatgpt_account_id: field(Schema.String),
    chatgpt_user_id: field(Schema.String),
    user_id: field(Schema.String),
    chatgpt_plan_type: field(Schema.String),
  })
  return Schema.Struct({
    chatgpt_account_id: field(Schema.String),
    chatgpt_user_id: field(Schema.String),
    user_id: field(Schema.String),
    chatgpt_plan_type: field(Schema.String),
    email: field(Schema.String),
    exp: field(Schema.Number),
    /** only the first entry is read (`organizations[0].id`), so the rest may be anything */
    organizations: field(Schema.Array(Schema.Unknown)),
    [AUTH_CLAIM]: field(AuthNamespace),
    [PROFILE_CLAIM]: field(Schema.Struct({ email: field(Schema.String) })),
  })
}
export type JwtClaims = ReturnType<typeof jwtClaimsSchema>["Type"]

export interface Identity {
  readonly accountId: string
  readonly userId?: string
  readonly plan?: string
  readonly email?: string
  /** epoch seconds, from the access token (else the id token) */
  readonly exp?: number
}

/** suspended: the schema is built by the first token read, not at module load (docs/performance.md, start) */
const decodeClaimsResult = Schema.decodeUnknownResult(Schema.suspend(jwtClaimsSchema))
/** base64url as the issuer sends it; the standard alphabet is taken too, as the seed's and ND's decoders do */
const BASE64 = /^[A-Za-z0-9_\-+/]+={0,2}$/
const utf8 = new TextDecoder("utf-8", { fatal: true })

const fail = (message: string) => Result.fail(new JwtError({ message }))

/** The payload (second segment) as a JSON object. */
export const parsePayload = (token: string, label = "token"): Result.Result<Record<string, unknown>, JwtError> => {
  const parts = token.split(".")
  if (parts.length !== 3) return fail(`${label} is not a JWT: expected 3 dot-separated parts, got ${parts.length}`)
  const segment = parts[1] ?? ""
  if (!BASE64.test(segment) || segment.replace(/=+$/, "").length % 4 === 1) {
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

const firstOrganization = (organizations: ReadonlyArray<unknown> | null | undefined): string | undefined => {
  const first = organizations?.[0]
  const id = typeof first === "object" && first !== null ? (first as { readonly id?: unknown }).id : undefined
  return typeof id === "string" ? id : undefined
}

/** Order from the protocol notes: top-level, then the auth namespace, then the first organization. */
export const accountIdOf = (claims: JwtClaims): string | undefined =>
  nonEmpty(claims.chatgpt_account_id) ??
  nonEmpty(claims[AUTH_CLAIM]?.chatgpt_account_id) ??
  nonEmpty(firstOrganization(claims.organizations))

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

/** A token's claims, or why it has none: absent or empty (OpenCode sends `id_token: ""`), or not a JWT (opaque). */
const claimsOf = (token: string | undefined, label: string): Result.Result<JwtClaims, string> => {
  if (token === undefined || token.trim() === "") return Result.fail(`${label} is empty`)
  return Result.mapError(parseClaims(token, label), (error) => error.message)
}

/**
 * The account identity from a token response: the id_token first (it carries the organizations), then the
 * access token, each filling what the other lacks. Either may be unusable, as OpenCode's and the seed's
 * `extractAccountId` allow: an opaque access token (identity from the id_token) or an empty id_token (identity
 * from the access token). Only finding no account id in either is an error, and it says what each token was.
 */
export const parseIdentity = (tokens: {
  readonly idToken?: string | undefined
  readonly accessToken: string
}): Result.Result<Identity, JwtError> => {
  const id = claimsOf(tokens.idToken, "id_token")
  const access = claimsOf(tokens.accessToken, "access_token")
  const sources: Array<JwtClaims> = []
  if (Result.isSuccess(id)) sources.push(id.success)
  if (Result.isSuccess(access)) sources.push(access.success)
  const pick = (get: (claims: JwtClaims) => string | undefined) => {
    for (const claims of sources) {
      const value = get(claims)
      if (value !== undefined) return value
    }
    return undefined
  }
  const accountId = pick(accountIdOf)
  if (accountId === undefined) {
    const why = (r: Result.Result<JwtClaims, string>, label: string) =>
      Result.isSuccess(r) ? `${label} has no chatgpt_account_id / organizations claim` : r.failure
    return fail(`no ChatGPT account id in the tokens: ${why(id, "id_token")}; ${why(access, "access_token")}`)
  }
  const userId = pick(userIdOf)
  const plan = pick(planOf)
  const email = pick(emailOf)
  const exp =
    (Result.isSuccess(access) ? expOf(access.success) : undefined) ??
    (Result.isSuccess(id) ? expOf(id.success) : undefined)
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
