/**
 * The issuer's token endpoint: authorization-code exchange and refresh. Failures are classified so the
 * accounts layer can tell "log in again" from "try again later", and only the issuer's own refusal of the
 * token is the first: a JSON error whose code says the refresh token is used, expired, revoked or an invalid
 * grant. Anything else (an HTML page from a captive portal or a proxy, a 401 without the issuer's JSON,
 * garbage, a 200 that is not a token response) may never have reached the issuer and the token may still be
 * good: it is transient. (The Codex CLI treats every 401 as permanent; behind a proxy that logs people out.)
 */
import { Clock, Context, Effect, Layer, Redacted, Schema } from "effect"
import { Http, type HttpError, type HttpResponse } from "./Http.ts"
import { parseIdentity } from "./Jwt.ts"
import { CLIENT_ID, Issuer, TokenSet, tokenEndpoint } from "./OAuth.ts"
import { printableLine } from "./Printable.ts"

/** `refresh_token_reused`: another process already rotated this refresh token. Log in again (or re-read). */
export class RefreshTokenReused extends Schema.TaggedError<RefreshTokenReused>()("RefreshTokenReused", {
  message: Schema.String,
  status: Schema.Number,
}) {}

export class RefreshTokenExpired extends Schema.TaggedError<RefreshTokenExpired>()("RefreshTokenExpired", {
  message: Schema.String,
  status: Schema.Number,
}) {}

/** `refresh_token_invalidated` / `token_invalidated` / `*_revoked`: revoked server-side. */
export class RefreshTokenInvalidated extends Schema.TaggedError<RefreshTokenInvalidated>()("RefreshTokenInvalidated", {
  message: Schema.String,
  status: Schema.Number,
  code: Schema.String,
}) {}

/** `invalid_grant` from the issuer: the grant (code or refresh token) is not valid; retrying will not help. */
export class RefreshRejected extends Schema.TaggedError<RefreshRejected>()("RefreshRejected", {
  message: Schema.String,
  status: Schema.Number,
  code: Schema.optional(Schema.String),
}) {}

/**
 * Worth another try later: 5xx, 408, 429, a network failure or timeout, and any answer that is not the
 * issuer's own refusal of the token (a proxy page, garbage, an error code about the request, not the token).
 */
export class RefreshTransient extends Schema.TaggedError<RefreshTransient>()("RefreshTransient", {
  message: Schema.String,
  status: Schema.optional(Schema.Number),
}) {}

/**
 * A 2xx whose body is not a token response (or whose tokens carry no account identity). Not a refusal: the
 * accounts layer retries later (a captive portal answers 200 with its own page).
 */
export class MalformedTokenResponse extends Schema.TaggedError<MalformedTokenResponse>()("MalformedTokenResponse", {
  message: Schema.String,
}) {}

export type TokenEndpointError =
  | RefreshTokenReused
  | RefreshTokenExpired
  | RefreshTokenInvalidated
  | RefreshRejected
  | RefreshTransient
  | MalformedTokenResponse
/** What `refresh` (and `exchangeCode`) can fail with. */
export type RefreshError = TokenEndpointError

const TokenResponse = Schema.Struct({
  access_token: Schema.NonEmptyString,
  refresh_token: Schema.optionalKey(Schema.NullOr(Schema.String)),
  id_token: Schema.optionalKey(Schema.NullOr(Schema.String)),
  expires_in: Schema.optionalKey(Schema.NullOr(Schema.Number)),
})
const decodeTokenResponse = Schema.decodeUnknownResult(Schema.fromJsonString(TokenResponse))

const ErrorBody = Schema.Struct({
  error: Schema.optionalKey(
    Schema.Union([
      Schema.String,
      Schema.Struct({
        code: Schema.optionalKey(Schema.NullOr(Schema.String)),
        message: Schema.optionalKey(Schema.Unknown),
      }),
    ]),
  ),
  error_description: Schema.optionalKey(Schema.Unknown),
  code: Schema.optionalKey(Schema.Unknown),
  message: Schema.optionalKey(Schema.Unknown),
})
const decodeErrorBody = Schema.decodeUnknownResult(Schema.fromJsonString(ErrorBody))

const str = (value: unknown): string | undefined => (typeof value === "string" && value !== "" ? value : undefined)

/** The error code from `error.code`, `error` (a string) or a top-level `code`, plus a human message. */
export const parseTokenError = (bodyText: string): { readonly code?: string; readonly message?: string } => {
  const decoded = decodeErrorBody(bodyText)
  if (decoded._tag === "Failure") return {}
  const body = decoded.success
  const error = body.error
  const code =
    (typeof error === "object" ? str(error.code) : undefined) ?? (typeof error === "string" ? str(error) : undefined)
  const finalCode = code ?? str(body.code)
  const message =
    (typeof error === "object" ? str(error.message) : undefined) ?? str(body.error_description) ?? str(body.message)
  return { ...(finalCode !== undefined ? { code: finalCode } : {}), ...(message !== undefined ? { message } : {}) }
}

/** server text in our messages: one line, at most this long */
const MAX_SERVER_TEXT = 300
const oneLine = (text: string) => {
  const line = printableLine(text.replace(/\s+/g, " ").trim())
  return line.length > MAX_SERVER_TEXT ? `${line.slice(0, MAX_SERVER_TEXT)}...` : line
}

/** what a body that is not the issuer's JSON looked like, for the message (never the body itself) */
const describeBody = (bodyText: string, contentType: string | undefined) => {
  const kind = contentType?.split(";")[0]?.trim() || (/^\s*</.test(bodyText) ? "markup" : "unknown content")
  return bodyText === "" ? "an empty body" : `a body that is not the issuer's (${kind}, ${bodyText.length} characters)`
}

export const classifyTokenFailure = (
  status: number,
  bodyText: string,
  contentType?: string,
): Exclude<TokenEndpointError, MalformedTokenResponse> => {
  const { code, message } = parseTokenError(bodyText)
  const detail =
    code === undefined && message === undefined
      ? ` with ${describeBody(bodyText, contentType)}`
      : `${code ? ` ${oneLine(code)}` : ""}${message ? `: ${oneLine(message)}` : ""}`
  const text = `token endpoint answered ${status}${detail}`
  switch (code) {
    case "refresh_token_reused":
      return new RefreshTokenReused({ message: text, status })
    case "refresh_token_expired":
      return new RefreshTokenExpired({ message: text, status })
    case "refresh_token_invalidated":
    case "refresh_token_revoked":
    case "token_invalidated":
    case "token_revoked":
      return new RefreshTokenInvalidated({ message: text, status, code })
    case "invalid_grant":
      if (status >= 400 && status < 500) return new RefreshRejected({ message: text, status, code })
  }
  return new RefreshTransient({ message: text, status })
}

const DEFAULT_EXPIRES_IN_S = 3600

/** A lifetime a token can really have: a missing, non-positive or absurd `expires_in` gets the default. */
const MAX_EXPIRES_IN_S = 366 * 24 * 3600
const sensibleLifetime = (seconds: number | null | undefined): number =>
  seconds === undefined || seconds === null || !Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_EXPIRES_IN_S
    ? DEFAULT_EXPIRES_IN_S
    : seconds

/** Builds the token set from a 2xx body; `previousRefresh` is kept when the issuer did not rotate it. */
export const tokenSetFromResponse = (
  response: HttpResponse,
  now: number,
  previousRefresh?: Redacted.Redacted<string>,
): Effect.Effect<TokenSet, MalformedTokenResponse> =>
  Effect.suspend(() => {
    const decoded = decodeTokenResponse(response.text)
    if (decoded._tag === "Failure") {
      const json = /^\s*[[{]/.test(response.text)
      return Effect.fail(
        new MalformedTokenResponse({
          message: json
            ? `token response is malformed: ${oneLine(decoded.failure.message)}`
            : `token response is malformed: the token endpoint answered ${response.status} with ${describeBody(
                response.text,
                response.headers["content-type"],
              )} (a proxy or captive portal?)`,
        }),
      )
    }
    const body = decoded.success
    const idToken = str(body.id_token)
    const refresh = str(body.refresh_token)
    const refreshToken = refresh !== undefined ? Redacted.make(refresh) : previousRefresh
    if (refreshToken === undefined) {
      return Effect.fail(new MalformedTokenResponse({ message: "token response has no refresh_token" }))
    }
    const identity = parseIdentity({ idToken, accessToken: body.access_token })
    if (identity._tag === "Failure") {
      return Effect.fail(new MalformedTokenResponse({ message: identity.failure.message }))
    }
    const expiresIn = sensibleLifetime(body.expires_in)
    const { accountId, userId, plan, email } = identity.success
    return Effect.succeed(
      new TokenSet({
        access: Redacted.make(body.access_token),
        refresh: refreshToken,
        ...(idToken !== undefined ? { idToken: Redacted.make(idToken) } : {}),
        expiresAt: now + expiresIn * 1000,
        accountId,
        ...(userId !== undefined ? { userId } : {}),
        ...(plan !== undefined ? { plan } : {}),
        ...(email !== undefined ? { email } : {}),
      }),
    )
  })

export interface ExchangeCodeOptions {
  readonly code: string
  /** byte-identical to the redirect_uri of the authorize request */
  readonly redirectUri: string
  readonly codeVerifier: string
  /** defaults to the `Issuer` reference */
  readonly issuer?: string
}

export interface TokenClientShape {
  readonly exchangeCode: (options: ExchangeCodeOptions) => Effect.Effect<TokenSet, TokenEndpointError>
  readonly refresh: (
    refreshToken: Redacted.Redacted<string>,
    options?: { readonly issuer?: string },
  ) => Effect.Effect<TokenSet, RefreshError>
}

const toTransient = (error: HttpError) =>
  new RefreshTransient({ message: `token endpoint unreachable: ${error.message}` })

export const make = Effect.gen(function* () {
  const http = yield* Http

  const post = Effect.fnUntraced(function* (
    issuer: string,
    fields: Record<string, string>,
    previousRefresh?: Redacted.Redacted<string>,
  ) {
    const response = yield* http
      .postForm(tokenEndpoint(issuer), fields, { headers: { accept: "application/json" } })
      .pipe(Effect.mapError(toTransient))
    if (response.status < 200 || response.status >= 300) {
      return yield* classifyTokenFailure(response.status, response.text, response.headers["content-type"])
    }
    const now = yield* Clock.currentTimeMillis
    return yield* tokenSetFromResponse(response, now, previousRefresh)
  })

  const exchangeCode = Effect.fn("TokenClient.exchangeCode")(function* (options: ExchangeCodeOptions) {
    return yield* post(options.issuer ?? (yield* Issuer), {
      grant_type: "authorization_code",
      code: options.code,
      redirect_uri: options.redirectUri,
      client_id: CLIENT_ID,
      code_verifier: options.codeVerifier,
    })
  })

  const refresh = Effect.fn("TokenClient.refresh")(function* (
    refreshToken: Redacted.Redacted<string>,
    options?: { readonly issuer?: string },
  ) {
    return yield* post(
      options?.issuer ?? (yield* Issuer),
      { grant_type: "refresh_token", refresh_token: Redacted.value(refreshToken), client_id: CLIENT_ID },
      refreshToken,
    )
  })

  return TokenClient.of({ exchangeCode, refresh })
})

export class TokenClient extends Context.Service<TokenClient, TokenClientShape>()(
  "@cortexkit/openai-auth-core/TokenClient",
) {
  /**
   * Needs `Http`. Calls that name no issuer read the `Issuer` reference at call time (default: the real
   * issuer), so it can be provided by the runtime's layer or per call with `Effect.provideService`.
   */
  static readonly layerNoDeps: Layer.Layer<TokenClient, never, Http> = Layer.effect(TokenClient, make)
  static readonly layer: Layer.Layer<TokenClient> = TokenClient.layerNoDeps.pipe(Layer.provide(Http.layer))
}
