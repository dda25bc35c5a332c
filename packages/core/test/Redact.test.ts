import { describe, expect, test } from "bun:test"
import { Redacted, Schema } from "effect"
import fc from "fast-check"
import { isSecretKey, REDACTED, redact, redactValue } from "../src/Redact.ts"

const jwt =
  "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzEyMyIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLWJ5dGVzLWhlcmU"
const apiKey = "sk-proj-AbCdEf0123456789xyzXYZ"
const refresh = "rt_4f9a8b7c6d5e4f3a2b1c0d.e9f8_a7-b6"

describe("redact: table", () => {
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    ["bearer header value", `Authorization: Bearer ${jwt}`, `Authorization: ${REDACTED}`],
    ["bearer anywhere", `sending bearer abc.def-123 now`, `sending bearer ${REDACTED} now`],
    ["bare JWT", `token was ${jwt}!`, `token was ${REDACTED}!`],
    ["unsigned JWT", "x eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0. y", `x ${REDACTED} y`],
    ["API key", `key ${apiKey} used`, `key ${REDACTED} used`],
    ["refresh token", `rotated ${refresh}`, `rotated ${REDACTED}`],
    ["JSON refresh_token", `{"refresh_token":"abc123","ok":1}`, `{"refresh_token":"${REDACTED}","ok":1}`],
    ["JSON access_token spaced", `{ "access_token" : "a b\\"c" }`, `{ "access_token" : "${REDACTED}" }`],
    ["JSON camelCase", `{"idToken":"zzz","accountId":"acct_1"}`, `{"idToken":"${REDACTED}","accountId":"acct_1"}`],
    ["JSON api_key", `{"api_key":"k1"}`, `{"api_key":"${REDACTED}"}`],
    ["JSON client_secret", `{"client_secret":"s"}`, `{"client_secret":"${REDACTED}"}`],
    ["JSON password", `{"password":"hunter2"}`, `{"password":"${REDACTED}"}`],
    ["JSON cookie", `{"cookie":"sid=1"}`, `{"cookie":"${REDACTED}"}`],
    ["JSON authorization", `{"authorization":"Basic Zm9vOmJhcg=="}`, `{"authorization":"${REDACTED}"}`],
    [
      "escaped JSON inside JSON",
      `{"body":"{\\"refresh_token\\":\\"abc\\",\\"x\\":1}"}`,
      `{"body":"{\\"refresh_token\\":\\"${REDACTED}\\",\\"x\\":1}"}`,
    ],
    [
      "form body",
      "grant_type=refresh_token&refresh_token=abc.def&client_id=app_1",
      `grant_type=refresh_token&refresh_token=${REDACTED}&client_id=app_1`,
    ],
    ["query string", "/cb?code=1&id_token=xyz&state=s", `/cb?code=1&id_token=${REDACTED}&state=s`],
    ["key: value", "token: abc secret=def", `token: ${REDACTED} secret=${REDACTED}`],
    ["cookie header line", "Cookie: a=1; b=2\nnext line", `Cookie: ${REDACTED}\nnext line`],
    ["set-cookie header", "set-cookie: __Secure=zz; Path=/", `set-cookie: ${REDACTED}`],
    ["x-api-key header", "x-api-key: whatever", `x-api-key: ${REDACTED}`],
    ["authorization with scheme as key=value", "authorization=Bearer abc", `authorization=${REDACTED} ${REDACTED}`],
    ["Basic credentials", "Basic Zm9vOmJhcjpiYXo=", `Basic ${REDACTED}`],
  ]
  for (const [name, input, expected] of cases) {
    test(name, () => {
      expect(redact(input)).toBe(expected)
    })
  }

  const untouched = [
    "plain log line with nothing secret",
    `{"usage":{"input_tokens":10,"output_tokens":5,"cached_tokens":3}}`,
    "max_output_tokens=100 prompt_cache_key=ses_123 model=gpt-5.1-codex",
    "task-1234567890 and risk-assessment stay",
    "basic auth is not configured",
    `{"accountId":"acct_1","plan":"plus","status":429}`,
  ]
  for (const input of untouched) {
    test(`leaves ${JSON.stringify(input).slice(0, 50)} alone`, () => {
      expect(redact(input)).toBe(input)
    })
  }

  test("is idempotent", () => {
    const once = redact(`Authorization: Bearer ${jwt} {"refresh_token":"${refresh}"} ${apiKey}`)
    expect(redact(once)).toBe(once)
  })
})

describe("redactValue", () => {
  test("secret-named keys, Redacted values and strings, deeply", () => {
    const value = {
      accountId: "acct_1",
      tokens: { access: Redacted.make("secret-access"), refresh_token: "plain-refresh", expiresAt: 1 },
      headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json" },
      list: [`see ${apiKey}`, 3, null, true],
      password: 12345,
      usage: { input_tokens: 10 },
    }
    expect(redactValue(value)).toEqual({
      accountId: "acct_1",
      tokens: { access: REDACTED, refresh_token: REDACTED, expiresAt: 1 },
      headers: { authorization: REDACTED, "content-type": "application/json" },
      list: [`see ${REDACTED}`, 3, null, true],
      password: REDACTED,
      usage: { input_tokens: 10 },
    })
  })

  test("errors, tagged errors, cycles, bigints, dates, bytes, maps", () => {
    class Boom extends Schema.TaggedError<Boom>()("Boom", { message: Schema.String, token: Schema.String }) {}
    const cyclic: Record<string, unknown> = { name: "loop" }
    cyclic.self = cyclic
    const out = redactValue({
      plain: new Error(`failed with ${apiKey}`),
      tagged: new Boom({ message: "bad", token: "tok-1" }),
      cyclic,
      big: 10n,
      when: new Date(0),
      bytes: new Uint8Array(4),
      map: new Map<string, unknown>([
        ["access_token", "x"],
        ["n", 1],
      ]),
    }) as Record<string, unknown>
    expect(out.plain).toEqual({ name: "Error", message: `failed with ${REDACTED}` })
    expect(out.tagged).toMatchObject({ message: "bad", _tag: "Boom", token: REDACTED })
    expect(out.cyclic).toEqual({ name: "loop", self: "[Circular]" })
    expect(out.big).toBe("10")
    expect(out.when).toBe("1970-01-01T00:00:00.000Z")
    expect(out.bytes).toBe("[4 bytes]")
    expect(out.map).toEqual({ access_token: REDACTED, n: 1 })
    expect(() => JSON.stringify(out)).not.toThrow()
  })

  test("a shared (non-cyclic) object is printed twice, not as a cycle", () => {
    const shared = { a: 1 }
    expect(redactValue({ x: shared, y: shared })).toEqual({ x: { a: 1 }, y: { a: 1 } })
  })

  test("isSecretKey", () => {
    for (const key of ["token", "refresh_token", "accessToken", "id_token", "apiKey", "x-api-key", "Cookie", "secret"])
      expect(isSecretKey(key)).toBe(true)
    for (const key of ["max_output_tokens", "input_tokens", "prompt_cache_key", "accountId", "tokens"])
      expect(isSecretKey(key)).toBe(false)
  })
})

describe("redact: properties", () => {
  const b64url = fc.stringMatching(/^[A-Za-z0-9_-]{4,40}$/)
  const jwtArb = fc.tuple(b64url, b64url, b64url).map(([a, b, c]) => `eyJ${a}.${b}.${c}`)
  const skArb = fc.stringMatching(/^[A-Za-z0-9_-]{16,48}$/).map((s) => `sk-${s}`)
  const rtArb = fc.stringMatching(/^[A-Za-z0-9._-]{16,48}$/).map((s) => `rt_${s}`)
  const opaque = fc.stringMatching(/^[A-Za-z0-9._~+/-]{12,48}$/)
  const noise = fc.string({ maxLength: 60 })
  const separator = fc.constantFrom(" ", "\n", "\t", ", ", "(", ")", "[", "] ", "<", ">", "|")

  // A secret in each of the forms the code must recognise, with the secret itself to look for afterwards.
  const embedded = fc.oneof(
    jwtArb.map((s) => ({ secret: s, text: s })),
    skArb.map((s) => ({ secret: s, text: s })),
    rtArb.map((s) => ({ secret: s, text: s })),
    opaque.map((s) => ({ secret: s, text: `Bearer ${s}` })),
    opaque.map((s) => ({ secret: s, text: `Authorization: Bearer ${s}` })),
    opaque.map((s) => ({ secret: s, text: `{"refresh_token":"${s}"}` })),
    opaque.map((s) => ({ secret: s, text: `{"access_token": "${s}"}` })),
    opaque.map((s) => ({ secret: s, text: `client_secret=${s}&x=1` })),
    opaque.map((s) => ({ secret: s, text: `password: ${s}` })),
    opaque.map((s) => ({ secret: s, text: `Cookie: session=${s}` })),
  )

  test("an embedded secret never survives, whatever surrounds it", () => {
    fc.assert(
      fc.property(noise, separator, embedded, separator, noise, (before, sep1, { secret, text }, sep2, after) => {
        const out = redact(`${before}${sep1}${text}${sep2}${after}`)
        expect(out.includes(secret)).toBe(false)
      }),
      { numRuns: Number(process.env.REDACT_RUNS ?? 3000) },
    )
  })

  test("several secrets in one text all go", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(noise, embedded), { minLength: 1, maxLength: 6 }), (parts) => {
        const out = redact(parts.map(([n, e]) => `${n} ${e.text}`).join(" "))
        for (const [, e] of parts) expect(out.includes(e.secret)).toBe(false)
      }),
      { numRuns: 1000 },
    )
  })

  test("redactValue never lets a Redacted or secret-keyed value through", () => {
    fc.assert(
      fc.property(opaque, fc.jsonValue(), (secret, other) => {
        const json = JSON.stringify(
          redactValue({
            a: other,
            nested: { accessToken: secret, r: Redacted.make(secret), list: [`Bearer ${secret}`] },
          }),
        )
        expect(json.includes(secret)).toBe(false)
      }),
      { numRuns: 1000 },
    )
  })

  test("text without triggers comes back unchanged (and fast)", () => {
    const line = "2025-01-01T00:00:00.000Z INFO request done status=200 model=gpt-5.1-codex ms=1234"
    const started = performance.now()
    for (let i = 0; i < 100_000; i++) redact(line)
    const perCallUs = ((performance.now() - started) * 1000) / 100_000
    expect(redact(line)).toBe(line)
    expect(perCallUs).toBeLessThan(20)
  })

  test("a line full of secrets is still cheap", () => {
    const line = `{"refresh_token":"${refresh}","headers":{"authorization":"Bearer ${jwt}"},"key":"${apiKey}"}`
    const started = performance.now()
    for (let i = 0; i < 20_000; i++) redact(line)
    const perCallUs = ((performance.now() - started) * 1000) / 20_000
    expect(perCallUs).toBeLessThan(100)
  })
})
