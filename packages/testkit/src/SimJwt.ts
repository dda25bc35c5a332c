/**
 * JWT-shaped tokens and PKCE helpers for the simulator. Tokens are unsigned in any meaningful sense (the
 * signature is random bytes) but carry the claims real clients read, so client-side claim parsing is exercised.
 */
import { createHash, randomBytes } from "node:crypto"

export const base64url = (data: Uint8Array | string): string => Buffer.from(data).toString("base64url")

export const randomId = (prefix: string, bytes = 12): string => `${prefix}${randomBytes(bytes).toString("hex")}`

export const pkceChallenge = (verifier: string): string => createHash("sha256").update(verifier).digest("base64url")

export const AUTH_CLAIM = "https://api.openai.com/auth"
export const PROFILE_CLAIM = "https://api.openai.com/profile"

export interface JwtIdentity {
  readonly accountId: string
  readonly userId: string
  readonly email: string
  readonly plan: string
}

export const mintJwt = (
  identity: JwtIdentity,
  options: { readonly nowMs: number; readonly expiresIn: number; readonly kind: "access" | "id" },
): string => {
  const iat = Math.floor(options.nowMs / 1000)
  const header = { alg: "RS256", typ: "JWT", kid: "sim" }
  const payload: Record<string, unknown> = {
    iss: "codex-simulator",
    aud: options.kind === "id" ? ["app_EMoamEEZ73f0CkXaXp7hrann"] : ["https://api.openai.com/v1"],
    sub: identity.userId,
    iat,
    exp: iat + options.expiresIn,
    jti: randomId("", 8),
    email: identity.email,
    [AUTH_CLAIM]: {
      chatgpt_account_id: identity.accountId,
      chatgpt_user_id: identity.userId,
      user_id: identity.userId,
      chatgpt_plan_type: identity.plan,
    },
    [PROFILE_CLAIM]: { email: identity.email, email_verified: true },
  }
  if (options.kind === "id") payload.organizations = [{ id: `org_${identity.accountId}`, is_default: true }]
  return `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}.${base64url(randomBytes(32))}`
}
