/**
 * Shared OAuth facts for the ChatGPT (Codex) login: constants, the stored token set, the authorize URL, and the
 * errors a login can end with. Every URL is derived from the configured issuer so the simulator (or a proxy)
 * can stand in for auth.openai.com.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { Settings } from "./Settings.ts"

export const DEFAULT_ISSUER = "https://auth.openai.com"
/** The Codex CLI's public client (no secret); the same id every ChatGPT-OAuth client uses. */
export const CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
export const SCOPE = "openid profile email offline_access"
/** Both are on the client's registered redirect allow-list; any other port is rejected by the issuer. */
export const CALLBACK_PORTS: ReadonlyArray<number> = [1455, 1457]
export const CALLBACK_PATH = "/auth/callback"

/**
 * The issuer to use where a call does not name one (token refresh). Wire it from Settings.issuer; the default
 * is the real issuer.
 */
export const Issuer = Context.Reference<string>("@cortexkit/openai-auth-core/OAuth/Issuer", {
  defaultValue: () => DEFAULT_ISSUER,
})

/** Wires `Issuer` from the resolved settings (`issuer` / CORTEXKIT_OPENAI_AUTH_ISSUER). */
export const IssuerFromSettings: Layer.Layer<never, never, Settings> = Layer.effect(
  Issuer,
  Effect.gen(function* () {
    return (yield* Settings).issuer
  }),
)

export const normalizeIssuer = (issuer: string): string => issuer.replace(/\/+$/, "")

export const authorizeEndpoint = (issuer: string) => `${normalizeIssuer(issuer)}/oauth/authorize`
export const tokenEndpoint = (issuer: string) => `${normalizeIssuer(issuer)}/oauth/token`
export const revokeEndpoint = (issuer: string) => `${normalizeIssuer(issuer)}/oauth/revoke`
export const deviceUserCodeEndpoint = (issuer: string) => `${normalizeIssuer(issuer)}/api/accounts/deviceauth/usercode`
export const deviceTokenEndpoint = (issuer: string) => `${normalizeIssuer(issuer)}/api/accounts/deviceauth/token`
export const deviceVerificationUrl = (issuer: string) => `${normalizeIssuer(issuer)}/codex/device`
export const deviceRedirectUri = (issuer: string) => `${normalizeIssuer(issuer)}/deviceauth/callback`

/** The registered redirect URIs use `localhost`; `127.0.0.1` is rejected as an exact-match mismatch. */
export const redirectUriFor = (port: number) => `http://localhost:${port}${CALLBACK_PATH}`

export interface AuthorizeUrlOptions {
  readonly issuer: string
  readonly redirectUri: string
  readonly codeChallenge: string
  readonly state: string
  /** the host's originator (HostIdentity) */
  readonly originator: string
}

/** Parameters in the order the Codex CLI sends them. */
export const buildAuthorizeUrl = (options: AuthorizeUrlOptions): string => {
  const params = new URLSearchParams()
  params.set("response_type", "code")
  params.set("client_id", CLIENT_ID)
  params.set("redirect_uri", options.redirectUri)
  params.set("scope", SCOPE)
  params.set("code_challenge", options.codeChallenge)
  params.set("code_challenge_method", "S256")
  params.set("id_token_add_organizations", "true")
  params.set("codex_cli_simplified_flow", "true")
  params.set("state", options.state)
  params.set("originator", options.originator)
  return `${authorizeEndpoint(options.issuer)}?${params.toString()}`
}

/** One account's credentials and identity, as returned by a code exchange or a refresh. */
export class TokenSet extends Schema.Class<TokenSet>("@cortexkit/openai-auth-core/OAuth/TokenSet")({
  access: Schema.Redacted(Schema.String),
  refresh: Schema.Redacted(Schema.String),
  idToken: Schema.optionalKey(Schema.Redacted(Schema.String)),
  /** epoch milliseconds */
  expiresAt: Schema.Number,
  accountId: Schema.String,
  userId: Schema.optionalKey(Schema.String),
  plan: Schema.optionalKey(Schema.String),
  email: Schema.optionalKey(Schema.String),
}) {}

// ---- login errors -------------------------------------------------------------------------------------------

/** The callback carried another login's `state` (or none): possibly forged, never exchanged. */
export class LoginStateMismatch extends Schema.TaggedError<LoginStateMismatch>()("LoginStateMismatch", {
  message: Schema.String,
}) {}

/** The issuer redirected back with `error=...` (the user declined, or the request was invalid). */
export class LoginDenied extends Schema.TaggedError<LoginDenied>()("LoginDenied", {
  message: Schema.String,
  error: Schema.String,
  description: Schema.optional(Schema.String),
}) {}

/** `missing_codex_entitlement`: the account/workspace has no Codex access. */
export class MissingCodexEntitlement extends Schema.TaggedError<MissingCodexEntitlement>()("MissingCodexEntitlement", {
  message: Schema.String,
}) {}

export class LoginTimeout extends Schema.TaggedError<LoginTimeout>()("LoginTimeout", {
  message: Schema.String,
  afterMs: Schema.Number,
}) {}

/** `/cancel` was requested (another login took over) or the user aborted. */
export class LoginCancelled extends Schema.TaggedError<LoginCancelled>()("LoginCancelled", {
  message: Schema.String,
}) {}

/** Neither registered callback port could be bound: another program listens on each. */
export class CallbackPortsBusy extends Schema.TaggedError<CallbackPortsBusy>()("CallbackPortsBusy", {
  message: Schema.String,
  ports: Schema.Array(Schema.Number),
}) {}

/** The callback server could not listen for another reason than a busy port (it says which). */
export class CallbackServerFailed extends Schema.TaggedError<CallbackServerFailed>()("CallbackServerFailed", {
  message: Schema.String,
  /** the errno code (`EACCES`, `EADDRNOTAVAIL`, ...) when the system gave one */
  code: Schema.optional(Schema.String),
}) {}

/** `usercode` answered 404: this issuer has no device-code login. */
export class DeviceLoginNotEnabled extends Schema.TaggedError<DeviceLoginNotEnabled>()("DeviceLoginNotEnabled", {
  message: Schema.String,
}) {}

/** A device endpoint answered something other than success/pending, or an unreadable body. */
export class DeviceAuthFailed extends Schema.TaggedError<DeviceAuthFailed>()("DeviceAuthFailed", {
  message: Schema.String,
  status: Schema.optional(Schema.Number),
}) {}

/** The user did not approve the device code within 15 minutes. */
export class DeviceCodeExpired extends Schema.TaggedError<DeviceCodeExpired>()("DeviceCodeExpired", {
  message: Schema.String,
}) {}

export type CallbackError = LoginStateMismatch | LoginDenied | MissingCodexEntitlement | LoginTimeout | LoginCancelled
