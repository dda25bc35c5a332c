import { describe, expect, test } from "bun:test"
import { Effect, Result } from "effect"
import fc from "fast-check"
import { AUTH_CLAIM, decodeIdentity, JwtError, PROFILE_CLAIM, parseClaims, parseIdentity } from "../src/Jwt.ts"

const b64 = (text: string) => Buffer.from(text).toString("base64url")
const jwt = (payload: unknown) => `${b64('{"alg":"none"}')}.${b64(JSON.stringify(payload))}.sig`

const failureOf = <A>(result: Result.Result<A, JwtError>): JwtError => {
  if (Result.isSuccess(result)) throw new Error("expected a failure")
  return result.failure
}

describe("Jwt.parseClaims: malformed tokens end in JwtError", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["not three parts", "abc.def", /3 dot-separated parts, got 2/],
    ["four parts", "a.b.c.d", /got 4/],
    ["empty", "", /got 1/],
    ["bad base64", `${b64("{}")}.@@@!.sig`, /not valid base64url/],
    ["impossible base64 length", `${b64("{}")}.A.sig`, /not valid base64url/],
    ["non-JSON payload", `${b64("{}")}.${b64("hello world")}.sig`, /not JSON/],
    ["JSON but not an object", `${b64("{}")}.${b64("[1,2]")}.sig`, /not a JSON object/],
    ["invalid UTF-8", `${b64("{}")}.${Buffer.from([0xff, 0xfe, 0x7b]).toString("base64url")}.sig`, /UTF-8/],
  ]
  for (const [name, token, message] of cases) {
    test(name, () => {
      const error = failureOf(parseClaims(token, "id_token"))
      expect(error).toBeInstanceOf(JwtError)
      expect(error._tag).toBe("JwtError")
      expect(error.message).toMatch(message)
    })
  }

  test("never throws on arbitrary input (property)", () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), (a, b, c) => {
        const result = parseClaims(`${a}.${b}.${c}`)
        expect(Result.isSuccess(result) || failureOf(result) instanceof JwtError).toBe(true)
      }),
    )
  })
})

describe("Jwt.parseIdentity", () => {
  test("reads the namespaced claims the issuer sends", () => {
    const access = jwt({
      exp: 1_900_000_000,
      [AUTH_CLAIM]: { chatgpt_account_id: "acct_1", chatgpt_user_id: "user_1", chatgpt_plan_type: "pro" },
      email: "a@example.com",
    })
    const identity = Effect.runSync(decodeIdentity({ accessToken: access }))
    expect(identity).toEqual({
      accountId: "acct_1",
      userId: "user_1",
      plan: "pro",
      email: "a@example.com",
      exp: 1_900_000_000,
    })
  })

  test("account id order: top-level, then auth namespace, then organizations[0]", () => {
    const all = {
      chatgpt_account_id: "top",
      [AUTH_CLAIM]: { chatgpt_account_id: "ns" },
      organizations: [{ id: "org" }],
    }
    expect(Result.getOrThrow(parseIdentity({ accessToken: jwt(all) })).accountId).toBe("top")
    const { chatgpt_account_id: _drop, ...nsAndOrg } = all
    expect(Result.getOrThrow(parseIdentity({ accessToken: jwt(nsAndOrg) })).accountId).toBe("ns")
    expect(
      Result.getOrThrow(parseIdentity({ accessToken: jwt({ organizations: [{ id: "org" }, { id: "x" }] }) })).accountId,
    ).toBe("org")
  })

  test("id_token wins over the access token; the access token fills gaps", () => {
    const idToken = jwt({ organizations: [{ id: "org_from_id" }], exp: 5 })
    const accessToken = jwt({
      [AUTH_CLAIM]: { chatgpt_account_id: "acct_from_access", user_id: "u_legacy", chatgpt_plan_type: "plus" },
      [PROFILE_CLAIM]: { email: "profile@example.com" },
      exp: 7,
    })
    const identity = Result.getOrThrow(parseIdentity({ idToken, accessToken }))
    expect(identity.accountId).toBe("org_from_id")
    expect(identity.userId).toBe("u_legacy")
    expect(identity.plan).toBe("plus")
    expect(identity.email).toBe("profile@example.com")
    expect(identity.exp).toBe(7)
  })

  test("null and empty claims count as absent", () => {
    const identity = Result.getOrThrow(
      parseIdentity({
        accessToken: jwt({ chatgpt_account_id: "", email: null, [AUTH_CLAIM]: { chatgpt_account_id: "a" } }),
      }),
    )
    expect(identity).toEqual({ accountId: "a" })
  })

  test("no account id anywhere is a JwtError", () => {
    const error = failureOf(parseIdentity({ accessToken: jwt({ email: "x@example.com", exp: 1 }) }))
    expect(error.message).toMatch(/no ChatGPT account id/)
  })

  test("a claim of the wrong type reads as absent, the rest of the token still counts", () => {
    const identity = Result.getOrThrow(
      parseIdentity({ accessToken: jwt({ exp: "tomorrow", organizations: "x", chatgpt_account_id: "a" }) }),
    )
    expect(identity).toEqual({ accountId: "a" })
  })

  test("an unusable id_token gives way to the access token; an error names what each token was", () => {
    const identity = Result.getOrThrow(
      parseIdentity({ idToken: "garbage", accessToken: jwt({ chatgpt_account_id: "a" }) }),
    )
    expect(identity.accountId).toBe("a")
    const error = failureOf(parseIdentity({ idToken: "garbage", accessToken: "opaque-access-token" }))
    expect(error.message).toMatch(/id_token is not a JWT/)
    expect(error.message).toMatch(/access_token is not a JWT/)
  })
})
