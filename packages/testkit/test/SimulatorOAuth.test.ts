import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { createHash, randomBytes } from "node:crypto"
import { codexBody, codexHeaders } from "../src/SimClient.ts"
import { type SimulatorHandle, startSimulator } from "../src/Simulator.ts"

const CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"
const REDIRECT = "http://localhost:1455/auth/callback"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator()
  sim.addAccount({ accountId: "acct_a", email: "a@example.test", plan: "plus" })
  sim.addAccount({ accountId: "acct_b", plan: "pro" })
})
afterAll(() => sim.stop())

const pkce = () => {
  const verifier = randomBytes(64).toString("base64url")
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") }
}

const decodeJwt = (jwt: string) => JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString())

const authorize = async (challenge: string, extra: Record<string, string> = {}) => {
  const url = new URL(`${sim.url}/oauth/authorize`)
  const params = {
    response_type: "code",
    client_id: CLIENT_ID,
    redirect_uri: REDIRECT,
    scope: "openid profile email offline_access",
    code_challenge: challenge,
    code_challenge_method: "S256",
    state: "st_123",
    ...extra,
  }
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v)
  return fetch(url, { redirect: "manual" })
}

const form = (fields: Record<string, string>) =>
  fetch(`${sim.url}/oauth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams(fields).toString(),
  })

const login = async (accountId?: string) => {
  const { verifier, challenge } = pkce()
  if (accountId !== undefined) sim.nextLogin(accountId)
  const redirect = new URL((await authorize(challenge)).headers.get("location") ?? "")
  const code = redirect.searchParams.get("code") ?? ""
  return { verifier, code }
}

describe("browser PKCE flow", () => {
  test("authorize redirects with code and state, exchange returns JWT tokens with claims", async () => {
    const { verifier, challenge } = pkce()
    const res = await authorize(challenge)
    expect(res.status).toBe(302)
    const location = new URL(res.headers.get("location") ?? "")
    expect(location.origin + location.pathname).toBe(REDIRECT)
    expect(location.searchParams.get("state")).toBe("st_123")
    const code = location.searchParams.get("code") ?? ""
    const token = await form({
      grant_type: "authorization_code",
      code,
      redirect_uri: REDIRECT,
      client_id: CLIENT_ID,
      code_verifier: verifier,
    })
    expect(token.status).toBe(200)
    const body = (await token.json()) as Record<string, unknown>
    expect(Object.keys(body)).toEqual(
      expect.arrayContaining(["id_token", "access_token", "refresh_token", "expires_in"]),
    )
    const claims = decodeJwt(String(body.access_token))
    expect(claims["https://api.openai.com/auth"].chatgpt_account_id).toBe("acct_a")
    expect(claims["https://api.openai.com/auth"].chatgpt_plan_type).toBe("plus")
    expect(claims.email).toBe("a@example.test")
    expect(claims["https://api.openai.com/profile"].email).toBe("a@example.test")
    expect(claims.exp - claims.iat).toBe(Number(body.expires_in))
    // the minted access token is accepted by the backend
    const res2 = await fetch(sim.codexEndpoint, {
      method: "POST",
      headers: codexHeaders({ accountId: "acct_a", tokens: { access: String(body.access_token) } }),
      body: JSON.stringify(codexBody()),
    })
    expect(res2.status).toBe(200)
    await res2.text()
  })

  test("wrong verifier, wrong redirect_uri and code replay are rejected", async () => {
    const { verifier, code } = await login()
    const base = { grant_type: "authorization_code", code, redirect_uri: REDIRECT, client_id: CLIENT_ID }
    const wrong = await form({ ...base, code_verifier: pkce().verifier })
    expect(wrong.status).toBe(400)
    expect(((await wrong.json()) as { error: string }).error).toBe("invalid_grant")
    const badRedirect = await form({ ...base, redirect_uri: "http://localhost:1455/other", code_verifier: verifier })
    expect(badRedirect.status).toBe(400)
    expect((await form({ ...base, code_verifier: verifier })).status).toBe(200)
    expect((await form({ ...base, code_verifier: verifier })).status).toBe(400)
  })

  test("nextLogin picks the account; authorizeDenied scripts an error redirect", async () => {
    const { verifier, code } = await login("acct_b")
    const res = await form({
      grant_type: "authorization_code",
      code,
      redirect_uri: REDIRECT,
      client_id: CLIENT_ID,
      code_verifier: verifier,
    })
    const body = (await res.json()) as { id_token: string }
    expect(decodeJwt(body.id_token)["https://api.openai.com/auth"].chatgpt_account_id).toBe("acct_b")

    sim.authorizeDenied("access_denied", "missing_codex_entitlement")
    const denied = new URL((await authorize(pkce().challenge)).headers.get("location") ?? "")
    expect(denied.searchParams.get("error")).toBe("access_denied")
    expect(denied.searchParams.get("error_description")).toBe("missing_codex_entitlement")
    expect(denied.searchParams.get("code")).toBeNull()
    expect(denied.searchParams.get("state")).toBe("st_123")
  })

  test("authorize validates client_id, method and state", async () => {
    const { challenge } = pkce()
    expect((await authorize(challenge, { client_id: "nope" })).status).toBe(400)
    expect((await authorize(challenge, { code_challenge_method: "plain" })).status).toBe(400)
    expect((await authorize(challenge, { state: "" })).status).toBe(400)
    expect((await authorize(challenge, { redirect_uri: "https://evil.example/cb" })).status).toBe(400)
  })
})

describe("refresh", () => {
  test("rotation: each refresh token works once, replay answers 401 refresh_token_reused", async () => {
    const first = sim.issueTokens("acct_a").refresh
    const r1 = await form({ grant_type: "refresh_token", refresh_token: first, client_id: CLIENT_ID })
    expect(r1.status).toBe(200)
    const next = (await r1.json()) as { refresh_token: string; access_token: string }
    expect(next.refresh_token).not.toBe(first)
    // JSON body works too (CX sends JSON)
    const r2 = await fetch(`${sim.url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ grant_type: "refresh_token", refresh_token: next.refresh_token, client_id: CLIENT_ID }),
    })
    expect(r2.status).toBe(200)
    const replay = await form({ grant_type: "refresh_token", refresh_token: first, client_id: CLIENT_ID })
    expect(replay.status).toBe(401)
    expect(await replay.json()).toEqual({
      error: {
        message:
          "Your refresh token has already been used to generate a new access token. Please try signing in again.",
        type: "invalid_request_error",
        param: null,
        code: "refresh_token_reused",
      },
    })
    const mine = sim.refreshes.filter((r) => r.refreshToken === first || r.refreshToken === next.refresh_token)
    expect(mine.map((r) => [r.outcome, r.contentType])).toEqual([
      ["ok", "form"],
      ["ok", "json"],
      ["reused", "form"],
    ])
  })

  test("scripted expired / invalidated / transient 5xx failures", async () => {
    sim.scriptRefresh("acct_b", { kind: "status", status: 503 }, { kind: "expired" })
    const token = sim.issueTokens("acct_b").refresh
    const refresh = () => form({ grant_type: "refresh_token", refresh_token: token, client_id: CLIENT_ID })
    expect((await refresh()).status).toBe(503)
    const expired = await refresh()
    expect(expired.status).toBe(401)
    expect(((await expired.json()) as { error: { code: string } }).error.code).toBe("refresh_token_expired")
    sim.scriptRefresh("acct_b", { kind: "invalidated" })
    const other = sim.issueTokens("acct_b").refresh
    const invalid = await form({ grant_type: "refresh_token", refresh_token: other, client_id: CLIENT_ID })
    expect(((await invalid.json()) as { error: { code: string } }).error.code).toBe("refresh_token_invalidated")
  })

  test("expired access tokens answer 401 on the backend", async () => {
    const tokens = sim.issueTokens("acct_b")
    sim.expireAccessTokens("acct_b")
    const res = await fetch(sim.usageEndpoint, { headers: codexHeaders({ accountId: "acct_b", tokens }) })
    expect(res.status).toBe(401)
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("token_expired")
  })
})

describe("device flow", () => {
  test("pending (403) then authorization code exchangeable with the deviceauth callback", async () => {
    sim.setDevice({ approveAfterPolls: 2, interval: "0" })
    const start = await fetch(`${sim.url}/api/accounts/deviceauth/usercode`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ client_id: CLIENT_ID }),
    })
    const { device_auth_id, user_code, interval } = (await start.json()) as Record<string, string>
    expect(interval).toBe("0")
    const poll = () =>
      fetch(`${sim.url}/api/accounts/deviceauth/token`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ device_auth_id, user_code }),
      })
    expect((await poll()).status).toBe(403)
    expect((await poll()).status).toBe(403)
    const ok = await poll()
    expect(ok.status).toBe(200)
    const grant = (await ok.json()) as Record<string, string>
    expect(createHash("sha256").update(String(grant.code_verifier)).digest("base64url")).toBe(
      String(grant.code_challenge),
    )
    const exchange = await form({
      grant_type: "authorization_code",
      code: String(grant.authorization_code),
      redirect_uri: `${sim.url}/deviceauth/callback`,
      client_id: CLIENT_ID,
      code_verifier: String(grant.code_verifier),
    })
    expect(exchange.status).toBe(200)
    expect(((await exchange.json()) as { access_token: string }).access_token.split(".")).toHaveLength(3)
    sim.setDevice({ approveAfterPolls: 1, interval: "1" })
  })
})
