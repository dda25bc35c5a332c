/**
 * The simulated OAuth issuer: auto-approving `/oauth/authorize`, `/oauth/token` with real PKCE checks and
 * single-use rotating refresh tokens, and the headless device-code flow.
 */
import { isRecord, json, readBody, str } from "./SimHttp.ts"
import { pkceChallenge, randomId } from "./SimJwt.ts"
import type { SimState } from "./SimState.ts"
import type { RefreshFailure, SimRefresh, SimTokens } from "./SimTypes.ts"

const oauthError = (error: string, description: string, status = 400) =>
  json({ error, error_description: description }, status)

const refreshError = (code: string, message: string, status = 401) =>
  json({ error: { message, type: "invalid_request_error", param: null, code } }, status)

const tokenBody = (tokens: SimTokens) => ({
  id_token: tokens.idToken,
  access_token: tokens.access,
  refresh_token: tokens.refresh,
  expires_in: tokens.expiresIn,
  token_type: "Bearer",
  scope: "openid profile email offline_access",
})

const isLoopbackRedirect = (uri: string, issuer: string): boolean => {
  if (uri === `${issuer}/deviceauth/callback`) return true
  try {
    const url = new URL(uri)
    return url.protocol === "http:" && (url.hostname === "localhost" || url.hostname === "127.0.0.1")
  } catch {
    return false
  }
}

export const authorize = (state: SimState, url: URL, issuer: string): Response => {
  const q = url.searchParams
  const redirectUri = q.get("redirect_uri") ?? ""
  if (q.get("client_id") !== state.clientId) return oauthError("invalid_client", "Unknown client_id")
  if (!isLoopbackRedirect(redirectUri, issuer)) return oauthError("invalid_request", "redirect_uri is not registered")
  if (q.get("response_type") !== "code") return oauthError("unsupported_response_type", "response_type must be code")
  const challenge = q.get("code_challenge") ?? ""
  if (q.get("code_challenge_method") !== "S256" || !/^[A-Za-z0-9_-]{43}$/.test(challenge)) {
    return oauthError("invalid_request", "code_challenge with method S256 is required")
  }
  const oauthState = q.get("state")
  if (oauthState === null || oauthState.length === 0) return oauthError("invalid_request", "state is required")
  const target = new URL(redirectUri)
  const denied = state.deniedQueue.shift()
  const account = denied === undefined ? state.takeLoginAccount() : undefined
  if (denied !== undefined || account === undefined) {
    target.searchParams.set("error", denied?.error ?? "access_denied")
    target.searchParams.set("error_description", denied?.description ?? "The simulator has no account to log in as")
  } else {
    const code = randomId("ac_sim_", 16)
    state.issued.add(code)
    state.codes.set(code, { accountId: account.accountId, challenge, redirectUri, used: false })
    target.searchParams.set("code", code)
  }
  target.searchParams.set("state", oauthState)
  return new Response(null, { status: 302, headers: { location: target.toString() } })
}

const exchangeCode = (state: SimState, form: Record<string, unknown>): Response => {
  if (str(form.client_id) !== state.clientId) return oauthError("invalid_client", "Unknown client_id", 401)
  const code = state.codes.get(str(form.code) ?? "")
  if (code === undefined || code.used) return oauthError("invalid_grant", "Invalid or already used authorization code")
  if (str(form.redirect_uri) !== code.redirectUri) return oauthError("invalid_grant", "redirect_uri mismatch")
  const verifier = str(form.code_verifier) ?? ""
  if (verifier.length < 43 || pkceChallenge(verifier) !== code.challenge) {
    return oauthError("invalid_grant", "PKCE verification failed")
  }
  code.used = true
  return json(tokenBody(state.issueTokens(code.accountId)))
}

const refreshFailure = (failure: RefreshFailure): { outcome: SimRefresh["outcome"]; response: Response } => {
  switch (failure.kind) {
    case "expired":
      return {
        outcome: "expired",
        response: refreshError("refresh_token_expired", "Your refresh token has expired. Please try signing in again."),
      }
    case "invalidated":
      return {
        outcome: "invalidated",
        response: refreshError(
          "refresh_token_invalidated",
          "Your refresh token has been invalidated. Please try signing in again.",
        ),
      }
    case "status":
      return {
        outcome: "transient",
        response: json({ error: { message: "Simulated upstream error", type: "server_error" } }, failure.status),
      }
  }
}

const refresh = (state: SimState, form: Record<string, unknown>, contentType: SimRefresh["contentType"]) => {
  const token = str(form.refresh_token) ?? ""
  const entry = state.refreshTokens.get(token)
  const log = (outcome: SimRefresh["outcome"], response: Response) => {
    const base = { at: state.now(), refreshToken: token, contentType, outcome, status: response.status }
    state.refreshes.push(entry === undefined ? base : { ...base, accountId: entry.accountId })
    return response
  }
  if (str(form.client_id) !== state.clientId) {
    return log("unknown", oauthError("invalid_client", "Unknown client_id", 401))
  }
  if (entry === undefined) {
    return log(
      "unknown",
      refreshError("refresh_token_invalidated", "Your refresh token is not valid. Please try signing in again."),
    )
  }
  if (entry.used) {
    return log(
      "reused",
      refreshError(
        "refresh_token_reused",
        "Your refresh token has already been used to generate a new access token. Please try signing in again.",
      ),
    )
  }
  const failure = state.refreshFailures.get(entry.accountId)?.shift()
  if (failure !== undefined) {
    const { outcome, response } = refreshFailure(failure)
    // Permanent failures kill the token; a transient 5xx leaves it usable for a retry.
    if (outcome !== "transient") entry.used = true
    return log(outcome, response)
  }
  entry.used = true
  return log("ok", json(tokenBody(state.issueTokens(entry.accountId))))
}

export const token = async (state: SimState, request: Request): Promise<Response> => {
  const body = await readBody(request)
  const form = isRecord(body.value) ? body.value : {}
  switch (str(form.grant_type)) {
    case "authorization_code":
      return exchangeCode(state, form)
    case "refresh_token":
      return refresh(state, form, body.kind === "form" ? "form" : "json")
    default:
      return oauthError("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
  }
}

export const deviceUserCode = async (state: SimState, request: Request): Promise<Response> => {
  const body = (await readBody(request)).value
  if (!isRecord(body) || body.client_id !== state.clientId) return oauthError("invalid_client", "Unknown client_id")
  const deviceAuthId = randomId("deviceauth_", 12)
  const userCode = `${randomId("", 2).toUpperCase()}-${randomId("", 2).toUpperCase()}`
  state.devices.set(deviceAuthId, { userCode, polls: 0 })
  return json({ device_auth_id: deviceAuthId, user_code: userCode, interval: state.deviceInterval, expires_in: 900 })
}

export const deviceToken = async (state: SimState, request: Request, issuer: string): Promise<Response> => {
  const body = (await readBody(request)).value
  const record = isRecord(body) ? body : {}
  const device = state.devices.get(str(record.device_auth_id) ?? "")
  if (device === undefined || device.userCode !== record.user_code) {
    return json({ error: { message: "Unknown device authorization", code: "deviceauth_not_found" } }, 404)
  }
  if (device.code === undefined) {
    if (device.polls < state.deviceApproveAfterPolls) {
      device.polls++
      return json({ error: { message: "Device authorization is pending", code: "deviceauth_pending" } }, 403)
    }
    const account = state.takeLoginAccount()
    if (account === undefined) return json({ error: { message: "No account", code: "access_denied" } }, 400)
    const verifier = randomId("", 32)
    const challenge = pkceChallenge(verifier)
    const authorizationCode = randomId("ac_dev_", 16)
    for (const secret of [verifier, authorizationCode]) state.issued.add(secret)
    const redirectUri = `${issuer}/deviceauth/callback`
    state.codes.set(authorizationCode, { accountId: account.accountId, challenge, redirectUri, used: false })
    device.code = { authorizationCode, challenge, verifier }
  }
  return json({
    authorization_code: device.code.authorizationCode,
    code_challenge: device.code.challenge,
    code_verifier: device.code.verifier,
  })
}
