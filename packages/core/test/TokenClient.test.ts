import { describe, expect, test } from "bun:test"
import { Simulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { it as plain, testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Layer, Redacted, Result } from "effect"
import { TestClock } from "effect/testing"
import { Issuer, IssuerFromSettings } from "../src/OAuth.ts"
import { resolveSettings, Settings } from "../src/Settings.ts"
import { classifyTokenFailure, parseTokenError, TokenClient } from "../src/TokenClient.ts"
import { testSource } from "./support/settings.ts"

const it = testEffect(Layer.mergeAll(Simulator.layer, TokenClient.layer))

const b64 = (text: string) => Buffer.from(text).toString("base64url")
const jwt = (payload: unknown) => `${b64('{"alg":"none"}')}.${b64(JSON.stringify(payload))}.sig`
const ACCESS = jwt({ "https://api.openai.com/auth": { chatgpt_account_id: "acct_stub", chatgpt_plan_type: "pro" } })

/** A one-route token endpoint on 127.0.0.1 answering whatever the test needs; records the form bodies. */
const stubIssuer = (answer: () => Response) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const forms: Array<Record<string, string>> = []
      const server = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: async (request) => {
          forms.push(Object.fromEntries(new URLSearchParams(await request.text())))
          return answer()
        },
      })
      return { url: `http://127.0.0.1:${server.port}`, forms, server }
    }),
    ({ server }) => Effect.sync(() => void server.stop(true)),
  )

describe("TokenClient against the simulator", () => {
  it.effect("refresh rotates the refresh token and persists every field", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const client = yield* TokenClient
      const acct = sim.addAccount({ accountId: "acct_a", userId: "user_a", email: "a@example.com", plan: "plus" })
      yield* TestClock.setTime(1_000_000)
      const first = yield* client.refresh(Redacted.make(acct.tokens.refresh), { issuer: sim.url })
      expect(first.accountId).toBe("acct_a")
      expect(first.userId).toBe("user_a")
      expect(first.email).toBe("a@example.com")
      expect(first.plan).toBe("plus")
      expect(first.expiresAt).toBe(1_000_000 + acct.tokens.expiresIn * 1000)
      expect(Redacted.value(first.refresh)).not.toBe(acct.tokens.refresh)
      expect(Redacted.value(first.access)).not.toBe(acct.tokens.access)
      expect(first.idToken && Redacted.value(first.idToken).split(".")).toHaveLength(3)
      expect(String(first.access)).not.toContain(Redacted.value(first.access))
      expect(sim.refreshes).toHaveLength(1)
      expect(sim.refreshes[0]).toMatchObject({ contentType: "form", outcome: "ok", accountId: "acct_a" })

      // the old token is now spent: replay is classified as reuse
      const reused = yield* Effect.flip(client.refresh(Redacted.make(acct.tokens.refresh), { issuer: sim.url }))
      expect(reused._tag).toBe("RefreshTokenReused")
      expect(reused.message).toContain("refresh_token_reused")

      // the rotated token keeps working
      const second = yield* client.refresh(first.refresh, { issuer: sim.url })
      expect(second.accountId).toBe("acct_a")
      expect(sim.refreshes.map((r) => r.outcome)).toEqual(["ok", "reused", "ok"])
    }),
  )

  it.effect("expired and invalidated are refusals; a 5xx and a 4xx without the issuer's code are transient", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const client = yield* TokenClient
      const acct = sim.addAccount({ accountId: "acct_b" })
      const token = Redacted.make(acct.tokens.refresh)
      sim.scriptRefresh("acct_b", { kind: "status", status: 503 })
      const transient = yield* Effect.flip(client.refresh(token, { issuer: sim.url }))
      expect(transient).toMatchObject({ _tag: "RefreshTransient", status: 503 })
      // a 5xx leaves the token usable; the next refusal is permanent
      sim.scriptRefresh("acct_b", { kind: "expired" })
      expect((yield* Effect.flip(client.refresh(token, { issuer: sim.url })))._tag).toBe("RefreshTokenExpired")

      const other = sim.issueTokens("acct_b")
      sim.scriptRefresh("acct_b", { kind: "invalidated" })
      const invalidated = yield* Effect.flip(client.refresh(Redacted.make(other.refresh), { issuer: sim.url }))
      expect(invalidated).toMatchObject({
        _tag: "RefreshTokenInvalidated",
        status: 401,
        code: "refresh_token_invalidated",
      })

      // a 400 whose body names no error code is not the issuer refusing the token
      const third = sim.issueTokens("acct_b")
      sim.scriptRefresh("acct_b", { kind: "status", status: 400 })
      expect(yield* Effect.flip(client.refresh(Redacted.make(third.refresh), { issuer: sim.url }))).toMatchObject({
        _tag: "RefreshTransient",
        status: 400,
      })
    }),
  )

  it.effect("the issuer comes from the Issuer reference when the call names none", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const client = yield* TokenClient
      const acct = sim.addAccount({ accountId: "acct_ref" })
      const tokens = yield* client
        .refresh(Redacted.make(acct.tokens.refresh))
        .pipe(Effect.provideService(Issuer, sim.url))
      expect(tokens.accountId).toBe("acct_ref")
      expect(sim.refreshes).toHaveLength(1)
    }),
  )

  it.effect("IssuerFromSettings wires the configured issuer (CORTEXKIT_OPENAI_AUTH_ISSUER)", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const client = yield* TokenClient
      const acct = sim.addAccount({ accountId: "acct_settings" })
      const resolved = Result.getOrThrow(
        resolveSettings(testSource({ CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url }), undefined, {
          tmpDir: "/tmp",
          homeDir: "/tmp",
        }),
      )
      const tokens = yield* client
        .refresh(Redacted.make(acct.tokens.refresh))
        .pipe(Effect.provide(IssuerFromSettings.pipe(Layer.provide(Settings.layer(resolved)))))
      expect(tokens.accountId).toBe("acct_settings")
    }),
  )

  it.effect("an unknown authorization code is a permanent rejection", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const client = yield* TokenClient
      const error = yield* Effect.flip(
        client.exchangeCode({
          code: "nope",
          redirectUri: "http://localhost:1455/auth/callback",
          codeVerifier: "v",
          issuer: sim.url,
        }),
      )
      expect(error).toMatchObject({ _tag: "RefreshRejected", status: 400, code: "invalid_grant" })
    }),
  )
})

describe("TokenClient against hand-made responses", () => {
  const run = plain.effect

  run("no new refresh token keeps the old one; missing expires_in means one hour", () =>
    Effect.gen(function* () {
      const stub = yield* stubIssuer(() => Response.json({ access_token: ACCESS }))
      const client = yield* TokenClient
      yield* TestClock.setTime(5_000)
      const tokens = yield* client.refresh(Redacted.make("rt_old"), { issuer: stub.url })
      expect(Redacted.value(tokens.refresh)).toBe("rt_old")
      expect(tokens.expiresAt).toBe(5_000 + 3_600_000)
      expect(tokens.idToken).toBeUndefined()
      expect(tokens).toMatchObject({ accountId: "acct_stub", plan: "pro" })
      expect(stub.forms).toEqual([
        { grant_type: "refresh_token", refresh_token: "rt_old", client_id: "app_EMoamEEZ73f0CkXaXp7hrann" },
      ])
    }).pipe(Effect.provide(TokenClient.layer)),
  )

  const malformed: Array<[string, () => Response, RegExp]> = [
    ["not JSON", () => new Response("<html>oops</html>", { status: 200 }), /malformed/],
    ["no access_token", () => Response.json({ refresh_token: "r" }), /access_token/],
    ["access_token of the wrong type", () => Response.json({ access_token: 42, refresh_token: "r" }), /access_token/],
    [
      "access_token that is not a JWT",
      () => Response.json({ access_token: "opaque", refresh_token: "r" }),
      /not a JWT/,
    ],
    [
      "JWT without an account",
      () => Response.json({ access_token: jwt({ sub: "x" }), refresh_token: "r" }),
      /account id/,
    ],
    ["expires_in as text", () => Response.json({ access_token: ACCESS, expires_in: "soon" }), /expires_in/],
  ]
  for (const [name, answer, message] of malformed) {
    run(`malformed token response: ${name}`, () =>
      Effect.gen(function* () {
        const stub = yield* stubIssuer(answer)
        const error = yield* Effect.flip((yield* TokenClient).refresh(Redacted.make("rt"), { issuer: stub.url }))
        expect(error._tag).toBe("MalformedTokenResponse")
        expect(error.message).toMatch(message)
      }).pipe(Effect.provide(TokenClient.layer)),
    )
  }

  run("an unreachable issuer is transient", () =>
    Effect.gen(function* () {
      const stub = yield* stubIssuer(() => new Response("unused"))
      stub.server.stop(true)
      const error = yield* Effect.flip((yield* TokenClient).refresh(Redacted.make("rt"), { issuer: stub.url }))
      expect(error._tag).toBe("RefreshTransient")
      expect(error.message).toContain("unreachable")
    }).pipe(Effect.provide(TokenClient.layer)),
  )
})

describe("token endpoint error classification", () => {
  const cases: Array<[number, unknown, string]> = [
    [401, { error: { code: "refresh_token_reused", message: "used" } }, "RefreshTokenReused"],
    [401, { error: "refresh_token_expired", error_description: "gone" }, "RefreshTokenExpired"],
    [401, { code: "refresh_token_invalidated" }, "RefreshTokenInvalidated"],
    [401, { error: { code: "token_invalidated" } }, "RefreshTokenInvalidated"],
    [401, { error: "invalid_grant" }, "RefreshRejected"],
    [400, { error: "invalid_grant", error_description: "bad" }, "RefreshRejected"],
    [401, { error: { code: "refresh_token_revoked" } }, "RefreshTokenInvalidated"],
    // not the issuer refusing the token: a proxy page, garbage, an error about the request itself
    [400, "not json", "RefreshTransient"],
    [401, "<html><body>Proxy authentication required</body></html>", "RefreshTransient"],
    [403, "<!doctype html><title>Access denied</title>", "RefreshTransient"],
    [401, { error: "invalid_client" }, "RefreshTransient"],
    [400, { error: { message: "no code here" } }, "RefreshTransient"],
    [404, "", "RefreshTransient"],
    [502, { error: "invalid_grant" }, "RefreshTransient"],
    [429, {}, "RefreshTransient"],
    [500, "", "RefreshTransient"],
    [502, { error: { code: "refresh_token_reused" } }, "RefreshTokenReused"],
  ]
  for (const [status, body, tag] of cases) {
    test(`${status} ${JSON.stringify(body)} -> ${tag}`, () => {
      const text = typeof body === "string" ? body : JSON.stringify(body)
      const error = classifyTokenFailure(status, text)
      expect(error._tag as string).toBe(tag)
      expect(error.message).toContain(String(status))
    })
  }

  test("the code and message come from whichever shape the issuer used", () => {
    expect(parseTokenError('{"error":{"code":"c1","message":"m1"}}')).toEqual({ code: "c1", message: "m1" })
    expect(parseTokenError('{"error":"c2","error_description":"m2"}')).toEqual({ code: "c2", message: "m2" })
    expect(parseTokenError('{"code":"c3","message":"m3"}')).toEqual({ code: "c3", message: "m3" })
    expect(parseTokenError("[]")).toEqual({})
  })
})
