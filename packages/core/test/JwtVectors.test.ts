/**
 * JWT identity against vectors ported (rewritten, with our own values) from other implementations' public
 * tests. Each test names its source: repository, file and test. "(disagreement)" marks a case decided by the
 * seed, then codex-rs (docs/protocol.md).
 */
import { describe, expect, test } from "bun:test"
import { AUTH_CLAIM, JwtError, PROFILE_CLAIM, parseClaims, parseIdentity } from "@cortexkit/openai-auth-core/Jwt"
import { tokenSetFromResponse } from "@cortexkit/openai-auth-core/TokenClient"
import { Effect, Result } from "effect"

const b64url = (text: string) => Buffer.from(text).toString("base64url")
/** the shape codex-rs's tests build: `alg: none`, unpadded base64url, a short signature */
const jwt = (payload: unknown, header: unknown = { alg: "none", typ: "JWT" }) =>
  `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}.${b64url("sig")}`
/** the shape the seed's tests build with `btoa`: standard base64, padded */
const btoaJwt = (payload: unknown) => `h.${btoa(JSON.stringify(payload))}.s`

const identity = (tokens: { idToken?: string; accessToken: string }) => Result.getOrThrow(parseIdentity(tokens))
const claims = (token: string) => Result.getOrThrow(parseClaims(token))
const rejects = (token: string) => {
  const result = parseClaims(token)
  expect(Result.isFailure(result)).toBe(true)
  if (Result.isFailure(result)) expect(result.failure).toBeInstanceOf(JwtError)
}
const noIdentity = (tokens: { idToken?: string; accessToken: string }) => {
  const result = parseIdentity(tokens)
  if (Result.isSuccess(result)) throw new Error("expected no identity")
  return result.failure.message
}

describe("openai/codex codex-rs/login/src/token_data_tests.rs", () => {
  // token_data_tests.rs `id_token_info_parses_email_and_plan`
  test("email and plan from the auth namespace", () => {
    const id = identity({
      accessToken: jwt({
        email: "dev@example.org",
        [AUTH_CLAIM]: { chatgpt_plan_type: "pro", chatgpt_account_id: "ws_1" },
      }),
    })
    expect([id.email, id.plan]).toEqual(["dev@example.org", "pro"])
  })

  // token_data_tests.rs `id_token_info_parses_go_plan`, `id_token_info_parses_hc_plan_as_enterprise`,
  // `id_token_info_parses_usage_based_business_plans`: the raw plan value is kept as sent (codex-rs maps it for
  // display; routing and the UI here show it as is)
  for (const plan of ["go", "hc", "self_serve_business_usage_based", "enterprise_cbp_usage_based"])
    test(`plan ${plan} is kept as sent`, () => {
      expect(
        identity({ accessToken: jwt({ [AUTH_CLAIM]: { chatgpt_plan_type: plan, chatgpt_account_id: "a" } }) }).plan,
      ).toBe(plan)
    })

  // token_data_tests.rs `id_token_info_handles_missing_fields`
  test("a token with only `sub` has claims but no identity", () => {
    const c = claims(jwt({ sub: "123" }))
    expect(c.email).toBeUndefined()
    expect(noIdentity({ accessToken: jwt({ sub: "123" }) })).toMatch(/no ChatGPT account id/)
  })

  // token_data_tests.rs `jwt_expiration_parses_exp_claim`
  test("exp is read", () => {
    expect(identity({ accessToken: jwt({ exp: 1_750_000_000, chatgpt_account_id: "a" }) }).exp).toBe(1_750_000_000)
  })

  // token_data_tests.rs `jwt_expiration_handles_missing_exp`
  test("no exp, none given", () => {
    expect(identity({ accessToken: jwt({ chatgpt_account_id: "a" }) }).exp).toBeUndefined()
  })

  // token_data_tests.rs `jwt_expiration_rejects_malformed_jwt`
  test("'not-a-jwt' is rejected", () => rejects("not-a-jwt"))

  // token_data.rs `decode_jwt_payload` (disagreement: codex-rs requires non-empty header and signature segments; the
  // seed's `parseJwtClaims` reads the payload whatever they are)
  test("empty header and signature segments: the payload still counts", () => {
    expect(identity({ accessToken: `.${b64url(JSON.stringify({ chatgpt_account_id: "acc-bare" }))}.` }).accountId).toBe(
      "acc-bare",
    )
  })

  // token_data.rs `parse_chatgpt_jwt_claims`: email falls back to the profile claim, user id to `user_id`
  test("email from the profile claim; user id from user_id", () => {
    const id = identity({
      accessToken: jwt({
        [PROFILE_CLAIM]: { email: "p@example.org" },
        [AUTH_CLAIM]: { user_id: "u_7", chatgpt_account_id: "a" },
      }),
    })
    expect([id.email, id.userId]).toEqual(["p@example.org", "u_7"])
  })
})

describe("anomalyco/opencode packages/opencode/test/plugin/codex.test.ts", () => {
  // codex.test.ts "parses valid JWT with claims"
  test("a valid JWT's claims", () => {
    expect(claims(jwt({ email: "t@example.org", chatgpt_account_id: "acc-9" })).chatgpt_account_id).toBe("acc-9")
  })

  // codex.test.ts "returns undefined for JWT with less than 3 parts"
  test("fewer than three parts", () => {
    rejects("invalid")
    rejects("only.two")
  })

  // codex.test.ts "returns undefined for invalid base64"
  test("a payload that is not base64", () => rejects("a.!!!invalid!!!.b"))

  // codex.test.ts "returns undefined for invalid JSON payload"
  test("a payload that is not JSON", () => rejects(`${b64url("{}")}.${b64url("not json")}.sig`))

  // codex.test.ts "extracts chatgpt_account_id from root"
  test("account id at the top level", () => {
    expect(identity({ accessToken: jwt({ chatgpt_account_id: "acc-top" }) }).accountId).toBe("acc-top")
  })

  // codex.test.ts "extracts chatgpt_account_id from nested https://api.openai.com/auth"
  test("account id in the auth namespace", () => {
    expect(identity({ accessToken: jwt({ [AUTH_CLAIM]: { chatgpt_account_id: "acc-ns" } }) }).accountId).toBe("acc-ns")
  })

  // codex.test.ts "prefers root over nested"
  test("the top level wins over the namespace", () => {
    const token = jwt({ chatgpt_account_id: "acc-top", [AUTH_CLAIM]: { chatgpt_account_id: "acc-ns" } })
    expect(identity({ accessToken: token }).accountId).toBe("acc-top")
  })

  // codex.test.ts "extracts from organizations array as fallback"
  test("organizations[0].id as the last resort", () => {
    expect(identity({ accessToken: jwt({ organizations: [{ id: "org-1" }, { id: "org-2" }] }) }).accountId).toBe(
      "org-1",
    )
  })

  // codex.test.ts "returns undefined when no accountId found"
  test("no account id in the claims", () => {
    expect(noIdentity({ accessToken: jwt({ email: "t@example.org" }) })).toMatch(
      /access_token has no chatgpt_account_id/,
    )
  })

  // codex.test.ts "extracts from id_token first"
  test("the id_token's account id wins", () => {
    const id = identity({
      idToken: jwt({ chatgpt_account_id: "from-id" }),
      accessToken: jwt({ chatgpt_account_id: "from-access" }),
    })
    expect(id.accountId).toBe("from-id")
  })

  // codex.test.ts "falls back to access_token when id_token has no accountId"
  test("an id_token without an account id gives way to the access token", () => {
    const id = identity({
      idToken: jwt({ email: "t@example.org" }),
      accessToken: jwt({ [AUTH_CLAIM]: { chatgpt_account_id: "from-access" } }),
    })
    expect([id.accountId, id.email]).toEqual(["from-access", "t@example.org"])
  })

  // codex.test.ts "returns undefined when no tokens have accountId"
  test("neither token has one", () => {
    const token = jwt({ email: "t@example.org" })
    expect(noIdentity({ idToken: token, accessToken: token })).toMatch(/id_token has no .*access_token has no/)
  })

  // codex.test.ts "handles missing id_token" (issue 13: the access token when the id token is empty)
  test("an empty id_token", () => {
    expect(identity({ idToken: "", accessToken: jwt({ chatgpt_account_id: "acc-5" }) }).accountId).toBe("acc-5")
  })
})

describe("cortexkit/openai-auth packages/opencode/src/tests/oauth.test.ts (the seed)", () => {
  // oauth.test.ts describe "parseJwtClaims" "parses a valid JWT" (btoa: standard, padded base64)
  test("a payload in padded standard base64", () => {
    expect(claims(btoaJwt({ chatgpt_account_id: "acc-pad" })).chatgpt_account_id).toBe("acc-pad")
  })

  // oauth.test.ts describe "parseJwtClaims" "returns undefined for malformed input"
  test("four parts, empty, two parts", () => {
    rejects("not.a.jwt.token")
    rejects("")
    rejects("a.b")
  })

  // oauth.test.ts describe "extractAccountId" "extracts from id_token" (issue 13: the id token when the access
  // token is opaque)
  test("an opaque access token: the identity comes from the id_token", () => {
    const id = identity({ idToken: btoaJwt({ chatgpt_account_id: "id-xyz" }), accessToken: "at" })
    expect(id.accountId).toBe("id-xyz")
    expect(id.exp).toBeUndefined()
  })

  // oauth.test.ts describe "extractAccountId" "extracts from https://api.openai.com/auth nested claim"
  test("an opaque access token, the id_token's namespaced claim", () => {
    const id = identity({ idToken: btoaJwt({ [AUTH_CLAIM]: { chatgpt_account_id: "nested-xyz" } }), accessToken: "at" })
    expect(id.accountId).toBe("nested-xyz")
  })

  // oauth.test.ts describe "extractAccountId" "falls back to access_token when id_token has no account id"
  test("the access token fills in", () => {
    expect(
      identity({ idToken: btoaJwt({ sub: "user" }), accessToken: btoaJwt({ chatgpt_account_id: "from-at" }) })
        .accountId,
    ).toBe("from-at")
  })

  // oauth.test.ts describe "extractAccountId" "returns undefined when no account id is present"
  test("none anywhere", () => {
    expect(noIdentity({ idToken: btoaJwt({ sub: "user" }), accessToken: btoaJwt({ sub: "user" }) })).toMatch(
      /no ChatGPT account id/,
    )
  })

  // core/oauth.ts `extractAccountId` (the source): an unusable id_token is passed over, not fatal
  test("a garbled id_token gives way to the access token", () => {
    expect(identity({ idToken: "x.y", accessToken: jwt({ chatgpt_account_id: "acc-ok" }) }).accountId).toBe("acc-ok")
  })
})

describe("ndycode/opencode-openai-codex-auth-multiaccount test/auth.test.ts + test/token-utils.test.ts", () => {
  // auth.test.ts describe "decodeJWT" "should decode valid JWT token" (standard base64 header and payload)
  test("standard base64 header and payload", () => {
    const token = `${Buffer.from('{"alg":"HS256","typ":"JWT"}').toString("base64")}.${Buffer.from(
      JSON.stringify({ sub: "42", name: "T" }),
    ).toString("base64")}.fake-signature`
    expect(Result.isSuccess(parseClaims(token))).toBe(true)
  })

  // auth.test.ts "should decode JWT with ChatGPT account info" (literal header and signature segments)
  test("literal header and signature segments", () => {
    const token = `header.${Buffer.from(JSON.stringify({ [AUTH_CLAIM]: { chatgpt_account_id: "acct-h" } })).toString("base64")}.signature`
    expect(identity({ accessToken: token }).accountId).toBe("acct-h")
  })

  // auth.test.ts "should decode base64url JWT payloads"
  test("a base64url payload with url-safe characters", () => {
    // `??>` encodes with `-`/`_` in base64url
    const payload = { chatgpt_account_id: "acc-url", note: "??>??>" }
    expect(identity({ accessToken: `header.${b64url(JSON.stringify(payload))}.signature` }).accountId).toBe("acc-url")
  })

  // auth.test.ts "should return null for invalid JWT" / "for malformed JWT" / "for non-JSON payload"
  test("not a JWT, two parts, a payload that is not JSON", () => {
    rejects("invalid-token")
    rejects("header.payload")
    rejects("header.not-json.signature")
  })

  // token-utils.test.ts "should return undefined when account ID is empty string" / "… is not a string"
  test("an empty or non-string account id is absent", () => {
    expect(noIdentity({ accessToken: jwt({ [AUTH_CLAIM]: { chatgpt_account_id: "" } }) })).toMatch(
      /no ChatGPT account id/,
    )
    expect(noIdentity({ accessToken: jwt({ [AUTH_CLAIM]: { chatgpt_account_id: 12345 } }) })).toMatch(
      /no ChatGPT account id/,
    )
  })

  // token-utils.test.ts "should trim whitespace from account ID" (disagreement: the seed and codex-rs use the
  // claim as sent)
  test("the account id is used as sent", () => {
    expect(identity({ accessToken: jwt({ [AUTH_CLAIM]: { chatgpt_account_id: " acc-sp " } }) }).accountId).toBe(
      " acc-sp ",
    )
  })

  // token-utils.test.ts describe "extractAccountEmail" "should fall back to access_token when id_token has no email"
  test("the email comes from the access token when the id_token has none", () => {
    const id = identity({
      idToken: jwt({ chatgpt_account_id: "a" }),
      accessToken: jwt({ email: "access@example.org" }),
    })
    expect(id.email).toBe("access@example.org")
  })
})

describe("a token response, as TokenClient reads it (issue 13 identity rules end to end)", () => {
  const respond = (body: Record<string, unknown>) =>
    Effect.runPromise(
      tokenSetFromResponse({ status: 200, headers: {}, text: JSON.stringify({ expires_in: 600, ...body }) }, 1_000),
    )

  // cortexkit/openai-auth oauth.test.ts "extracts from id_token" with `access_token: 'at'`
  test("an opaque access token with an id_token carrying the account", async () => {
    const set = await respond({
      access_token: "opaque-access-value",
      refresh_token: "rt_1",
      id_token: jwt({
        email: "o@example.org",
        [AUTH_CLAIM]: { chatgpt_account_id: "acc-opaque", chatgpt_plan_type: "plus" },
      }),
    })
    expect([set.accountId, set.email, set.plan, set.expiresAt]).toEqual([
      "acc-opaque",
      "o@example.org",
      "plus",
      601_000,
    ])
  })

  // anomalyco/opencode codex.test.ts "handles missing id_token" (`id_token: ""`)
  test("an empty id_token with a JWT access token", async () => {
    const set = await respond({
      access_token: jwt({ chatgpt_account_id: "acc-at" }),
      refresh_token: "rt_2",
      id_token: "",
    })
    expect(set.accountId).toBe("acc-at")
    expect(set.idToken).toBeUndefined()
  })

  test("neither token says which account: the login fails naming both", async () => {
    const exit = await Effect.runPromiseExit(
      tokenSetFromResponse(
        {
          status: 200,
          headers: {},
          text: JSON.stringify({ access_token: "opaque", refresh_token: "r", id_token: "" }),
        },
        0,
      ),
    )
    expect(JSON.stringify(exit)).toContain("id_token is empty; access_token is not a JWT")
  })
})
