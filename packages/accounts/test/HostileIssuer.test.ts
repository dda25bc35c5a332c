/**
 * A bad answer from the token endpoint is never a logout. The refresh goes through a real socket to a hostile
 * "issuer" (a captive portal, a proxy error page, garbage bytes, a 200 that is not a token response): the
 * refresh fails as unavailable, the account is not marked "needs re-login", and once the network is back the
 * same refresh token works at the real issuer (the simulator), because it never reached it. Only the
 * issuer's own refusal (`invalid_grant` here) marks the account.
 */
import { describe, expect, test } from "bun:test"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Issuer } from "@cortexkit/openai-auth-core/OAuth"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { Effect, Layer } from "effect"
import { keyOf } from "../src/AccountKey.ts"
import { Credentials, MainCredentials } from "../src/Credentials.ts"
import { FileLock } from "../src/FileLock.ts"
import { Store } from "../src/Store.ts"
import { fallbackAccount, simulatorSuite } from "./support/fixture.ts"

const suite = simulatorSuite("oa-hostile-issuer-", "[faults] hostile token endpoint")
const { held } = suite

const garbage = new Uint8Array(4096).map((_, i) => (i * 131 + 7) % 256)

const ANSWERS: ReadonlyArray<readonly [string, () => Response]> = [
  [
    "captive portal: HTML 200",
    () =>
      new Response("<html><body>Sign in to the Wi-Fi</body></html>", {
        status: 200,
        headers: { "content-type": "text/html" },
      }),
  ],
  [
    "garbage bytes 200",
    () => new Response(garbage, { status: 200, headers: { "content-type": "application/octet-stream" } }),
  ],
  [
    "truncated JSON 200",
    () => new Response('{"access_token":"eyJhbGciOi', { status: 200, headers: { "content-type": "application/json" } }),
  ],
  ["empty 200", () => new Response("", { status: 200 })],
  [
    "proxy login page 401",
    () => new Response("<html>Proxy login required</html>", { status: 401, headers: { "content-type": "text/html" } }),
  ],
  ["proxy 407", () => new Response("Proxy Authentication Required", { status: 407 })],
  [
    "firewall page 403",
    () =>
      new Response("<!doctype html><title>Blocked</title>", { status: 403, headers: { "content-type": "text/html" } }),
  ],
  [
    "gateway error 502",
    () => new Response("<html>Bad gateway</html>", { status: 502, headers: { "content-type": "text/html" } }),
  ],
  [
    "JSON 400 about the request, not the token",
    () => Response.json({ error: "invalid_request", error_description: "malformed" }, { status: 400 }),
  ],
]

const hostile = (answer: () => Response) => {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => answer() })
  return { url: `http://127.0.0.1:${server.port}`, stop: () => server.stop(true) }
}

const layerFor = (storePath: string, issuer: string) => {
  const files = Files.layer
  const lock = FileLock.layer.pipe(Layer.provide(files))
  const store = Store.layerAt(storePath).pipe(Layer.provide(Layer.merge(files, lock)))
  return Credentials.layer.pipe(
    Layer.provideMerge(
      Layer.mergeAll(store, lock, TokenClient.layer, MainCredentials.layerNone, Layer.succeed(Issuer, issuer)),
    ),
  )
}

/** asks once for the account's token through `issuer`, in a runtime of its own (a process of its own) */
const askThrough = (storePath: string, issuer: string, key: string) =>
  Effect.runPromise(
    Effect.gen(function* () {
      const credentials = yield* Credentials
      const outcome = yield* credentials.access(key).pipe(
        Effect.match({
          onFailure: (e) => ({ tag: e._tag, message: e.message }),
          onSuccess: () => ({ tag: "ok", message: "" }),
        }),
      )
      const doc = yield* (yield* Store).read
      return { outcome, account: doc.accounts.find((a) => keyOf(a) === key) }
    }).pipe(Effect.provide(layerFor(storePath, issuer))),
  )

let n = 0
const seed = async () => {
  const id = `${++n}`
  const account = suite.sim.addAccount({ accountId: `acct_hostile_${id}`, userId: `user_hostile_${id}` })
  const stored = fallbackAccount(account, { expiresAt: Date.now() - 1_000 })
  const storePath = `${suite.root}/store-${id}.json`
  await Effect.runPromise(
    Effect.gen(function* () {
      yield* (yield* Store).update((doc) => ({ ...doc, accounts: [stored] }))
    }).pipe(Effect.provide(layerFor(storePath, suite.sim.url))),
  )
  return { account, storePath, key: keyOf(stored) }
}

describe("a bad answer from the token endpoint", () => {
  for (const [name, answer] of ANSWERS) {
    test(`${name}: transient, the account stays active, the token still works afterwards`, async () => {
      const { account, storePath, key } = await seed()
      const proxy = hostile(answer)
      try {
        const bad = await askThrough(storePath, proxy.url, key)
        expect(bad.outcome.tag).toBe("CredentialsUnavailable")
        expect(bad.account?.state).toBe("active")
        expect(bad.account?.needsReloginReason).toBeUndefined()
        // nothing reached the issuer
        expect(suite.sim.refreshes.filter((r) => r.accountId === account.accountId)).toEqual([])
        // the network is back: the very same refresh token refreshes
        const good = await askThrough(storePath, suite.sim.url, key)
        expect(good.outcome.tag).toBe("ok")
        expect(suite.sim.refreshes.filter((r) => r.accountId === account.accountId).map((r) => r.outcome)).toEqual([
          "ok",
        ])
        held.push(`${name} -> unavailable ("${bad.outcome.message.slice(0, 90)}"), still active; then refreshed ok`)
      } finally {
        proxy.stop()
      }
    })
  }

  test("the issuer's own invalid_grant is a refusal: the account needs a new login", async () => {
    const { storePath, key } = await seed()
    const proxy = hostile(() =>
      Response.json({ error: "invalid_grant", error_description: "Invalid refresh token" }, { status: 400 }),
    )
    try {
      const refused = await askThrough(storePath, proxy.url, key)
      expect(refused.outcome.tag).toBe("NeedsRelogin")
      expect(refused.account?.state).toBe("needs-relogin")
      held.push(
        "issuer's JSON 400 invalid_grant -> needs re-login (the only permanent answers: invalid_grant, reused, expired, revoked)",
      )
    } finally {
      proxy.stop()
    }
  })
})
