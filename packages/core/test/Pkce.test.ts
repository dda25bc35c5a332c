import { describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { buildAuthorizeUrl, CLIENT_ID, redirectUriFor } from "../src/OAuth.ts"
import * as Pkce from "../src/Pkce.ts"

const BASE64URL = /^[A-Za-z0-9_-]+$/

describe("Pkce", () => {
  test("verifier is 64 random bytes as unpadded base64url (86 chars)", () => {
    const verifiers = new Set<string>()
    for (let i = 0; i < 50; i++) {
      const v = Pkce.makeVerifier()
      expect(v).toHaveLength(86)
      expect(v).toMatch(BASE64URL)
      expect(Buffer.from(v, "base64url")).toHaveLength(64)
      verifiers.add(v)
    }
    expect(verifiers.size).toBe(50)
  })

  test("challenge is S256 base64url without padding (checked against WebCrypto)", async () => {
    const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r7wW1gFWFOEjXk"
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))
    const expected = btoa(String.fromCharCode(...new Uint8Array(digest)))
      .replaceAll("+", "-")
      .replaceAll("/", "_")
      .replace(/=+$/, "")
    expect(Pkce.challengeFor(verifier)).toBe(expected)
    expect(expected).toBe("bwWFMyPfdG9qreDhH2lmftFx_dFeLDalzcT1gb_j68g")
    const pair = Effect.runSync(Pkce.pair)
    expect(pair.challenge).toHaveLength(43)
    expect(pair.challenge).toMatch(BASE64URL)
    expect(pair.challenge).toBe(Pkce.challengeFor(pair.verifier))
  })

  test("state is 32 random bytes as unpadded base64url", () => {
    const a = Effect.runSync(Pkce.state)
    const b = Effect.runSync(Pkce.state)
    expect(a).toHaveLength(43)
    expect(a).toMatch(BASE64URL)
    expect(Buffer.from(a, "base64url")).toHaveLength(32)
    expect(a).not.toBe(b)
  })
})

describe("authorize URL", () => {
  test("has every parameter, in the Codex CLI's order, under the configured issuer", () => {
    const url = new URL(
      buildAuthorizeUrl({
        issuer: "http://127.0.0.1:9999/",
        redirectUri: redirectUriFor(1457),
        codeChallenge: "challenge_x",
        state: "state_y",
        originator: "opencode",
      }),
    )
    expect(`${url.origin}${url.pathname}`).toBe("http://127.0.0.1:9999/oauth/authorize")
    expect([...url.searchParams.entries()]).toEqual([
      ["response_type", "code"],
      ["client_id", CLIENT_ID],
      ["redirect_uri", "http://localhost:1457/auth/callback"],
      ["scope", "openid profile email offline_access"],
      ["code_challenge", "challenge_x"],
      ["code_challenge_method", "S256"],
      ["id_token_add_organizations", "true"],
      ["codex_cli_simplified_flow", "true"],
      ["state", "state_y"],
      ["originator", "opencode"],
    ])
    expect(CLIENT_ID).toBe("app_EMoamEEZ73f0CkXaXp7hrann")
  })
})
