import { describe, expect, test } from "bun:test"
import { createServer } from "node:http"
import { Simulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Exit, Fiber, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import { authorizeBrowser, CallbackServer } from "../src/CallbackServer.ts"
import { CLIENT_ID } from "../src/OAuth.ts"
import { TokenClient } from "../src/TokenClient.ts"

const it = testEffect(Layer.mergeAll(Simulator.layer, TokenClient.layer, CallbackServer.layer))

/** A port that was free a moment ago (the OS hands out a fresh one each time). */
const freePort = () => {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() })
  const port = probe.port ?? 0
  probe.stop(true)
  return port
}

const get = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(url, { redirect: "manual" })
    return { status: response.status, location: response.headers.get("location"), text: await response.text() }
  })

/** Loopback-only: the browser would go to localhost, the test goes to the same port on 127.0.0.1. */
const toLoopback = (url: string) => url.replace("http://localhost:", "http://127.0.0.1:")

const refused = (port: number) =>
  Effect.promise(() =>
    fetch(`http://127.0.0.1:${port}/probe`).then(
      () => false,
      () => true,
    ),
  )

describe("browser login against the simulator", () => {
  it.effect("authorize -> redirect -> callback -> code exchange yields the account's tokens", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      sim.addAccount({ accountId: "acct_browser", email: "b@example.com", plan: "pro" })
      const port = freePort()
      const opened: Array<string> = []
      const login = yield* authorizeBrowser({
        issuer: sim.url,
        ports: [port],
        openUrl: (url) => Effect.sync(() => opened.push(url)),
      })
      expect(opened).toEqual([login.url])
      const authorize = new URL(login.url)
      expect(authorize.origin).toBe(sim.url)
      expect(authorize.searchParams.get("redirect_uri")).toBe(`http://localhost:${port}/auth/callback`)
      expect(authorize.searchParams.get("client_id")).toBe(CLIENT_ID)

      const redirect = yield* get(login.url)
      expect(redirect.status).toBe(302)
      const location = redirect.location ?? ""
      expect(location.startsWith(`http://localhost:${port}/auth/callback?`)).toBe(true)
      expect(new URL(location).searchParams.get("state")).toBe(authorize.searchParams.get("state"))

      const callback = yield* get(toLoopback(location))
      expect(callback.status).toBe(200)
      expect(callback.text).toContain("Signed in")

      const tokens = yield* login.waitForTokens
      expect(tokens).toMatchObject({ accountId: "acct_browser", email: "b@example.com", plan: "pro" })
      expect(yield* refused(port)).toBe(true)
    }),
  )

  it.effect("the exchange proves the verifier behind the S256 challenge (the simulator checks PKCE)", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      sim.addAccount({ accountId: "acct_pkce" })
      const login = yield* authorizeBrowser({ issuer: sim.url, ports: [freePort()] })
      const challenge = new URL(login.url).searchParams.get("code_challenge") ?? ""
      expect(challenge).toMatch(/^[A-Za-z0-9_-]{43}$/)
      yield* get(toLoopback((yield* get(login.url)).location ?? ""))
      expect((yield* login.waitForTokens).accountId).toBe("acct_pkce")
    }),
  )

  it.effect("access_denied fails the login with LoginDenied; missing_codex_entitlement is its own error", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      sim.addAccount({ accountId: "acct_x" })
      sim.authorizeDenied("access_denied", "The user declined")
      const denied = yield* authorizeBrowser({ issuer: sim.url, ports: [freePort()] })
      const page = yield* get(toLoopback((yield* get(denied.url)).location ?? ""))
      expect(page.status).toBe(403)
      expect(page.text).toContain("access_denied")
      const error = yield* Effect.flip(denied.waitForTokens)
      expect(error).toMatchObject({ _tag: "LoginDenied", error: "access_denied", description: "The user declined" })

      sim.authorizeDenied("access_denied", "missing_codex_entitlement")
      const noCodex = yield* authorizeBrowser({ issuer: sim.url, ports: [freePort()] })
      yield* get(toLoopback((yield* get(noCodex.url)).location ?? ""))
      expect((yield* Effect.flip(noCodex.waitForTokens))._tag).toBe("MissingCodexEntitlement")
    }),
  )
})

describe("CallbackServer", () => {
  it.effect("a wrong state or a stateless /cancel answers 400 and the login keeps waiting for its own redirect", () =>
    Effect.gen(function* () {
      const server = yield* CallbackServer
      const listener = yield* server.listen({ state: "expected", ports: [freePort()] })
      expect(listener.redirectUri).toBe(`http://localhost:${listener.port}/auth/callback`)
      const waiting = yield* Effect.forkChild(listener.code)
      const base = `http://127.0.0.1:${listener.port}`
      // what a stray or hostile web page could send to a well-known port
      for (const path of [
        "/auth/callback?code=c&state=forged",
        "/auth/callback?code=c",
        "/auth/callback?error=access_denied&state=forged",
        "/cancel",
        "/cancel?state=forged",
      ]) {
        const page = yield* get(`${base}${path}`)
        expect({ path, status: page.status }).toEqual({ path, status: 400 })
        expect(page.text).toContain("does not belong to the login in progress")
      }
      expect(waiting.pollUnsafe()).toBeUndefined()
      expect((yield* get(`${base}/auth/callback?code=the-code&state=expected`)).status).toBe(200)
      expect(yield* Fiber.join(waiting)).toBe("the-code")
      expect(yield* refused(listener.port)).toBe(true)
    }),
  )

  it.effect("a callback without a code is refused; unknown paths are 404 and change nothing", () =>
    Effect.gen(function* () {
      const server = yield* CallbackServer
      const listener = yield* server.listen({ state: "s", ports: [freePort()] })
      expect((yield* get(`http://127.0.0.1:${listener.port}/favicon.ico`)).status).toBe(404)
      expect((yield* get(`http://127.0.0.1:${listener.port}/auth/callback?state=s`)).status).toBe(400)
      expect(yield* Effect.flip(listener.code)).toMatchObject({ _tag: "LoginDenied", error: "invalid_request" })
    }),
  )

  it.effect("gives up after 5 minutes on the Clock and stops listening", () =>
    Effect.gen(function* () {
      const server = yield* CallbackServer
      const listener = yield* server.listen({ state: "s", ports: [freePort()] })
      const waiting = yield* Effect.forkChild(listener.code)
      yield* TestClock.adjust("4 minutes")
      expect(yield* refused(listener.port)).toBe(false)
      yield* TestClock.adjust("1 minute")
      const exit = yield* Fiber.await(waiting)
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("LoginTimeout")
      expect(yield* refused(listener.port)).toBe(true)
    }),
  )

  it.effect("/cancel with this login's state cancels it", () =>
    Effect.gen(function* () {
      const server = yield* CallbackServer
      const listener = yield* server.listen({ state: "s", ports: [freePort()] })
      expect((yield* get(`http://127.0.0.1:${listener.port}/cancel?state=s`)).status).toBe(200)
      expect((yield* Effect.flip(listener.code))._tag).toBe("LoginCancelled")
    }),
  )

  it.effect("closing the scope (interruption) stops the server", () =>
    Effect.gen(function* () {
      const server = yield* CallbackServer
      const scope = yield* Scope.make()
      const listener = yield* server.listen({ state: "s", ports: [freePort()] }).pipe(Scope.provide(scope))
      const waiting = yield* Effect.forkChild(listener.code)
      expect(yield* refused(listener.port)).toBe(false)
      yield* Fiber.interrupt(waiting)
      yield* Scope.close(scope, Exit.void)
      expect(yield* refused(listener.port)).toBe(true)
    }),
  )

  it.effect("all ports taken is a clear CallbackPortsBusy", () =>
    Effect.gen(function* () {
      const blocker = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("busy") })
      yield* Effect.addFinalizer(() => Effect.sync(() => void blocker.stop(true)))
      const server = yield* CallbackServer
      const error = yield* Effect.flip(server.listen({ state: "s", ports: [blocker.port ?? 0] }))
      expect(error._tag).toBe("CallbackPortsBusy")
      expect(error.message).toContain(String(blocker.port))
      expect(error._tag === "CallbackPortsBusy" && error.ports).toEqual([blocker.port ?? 0])
    }),
  )

  it.effect("a failure other than a busy port says what it is, not 'busy'", () =>
    Effect.gen(function* () {
      const server = yield* CallbackServer
      // an address this machine does not have (TEST-NET-1)
      const error = yield* Effect.flip(server.listen({ state: "s", ports: [freePort()], hosts: ["192.0.2.1"] }))
      expect(error._tag).toBe("CallbackServerFailed")
      expect(error.message).toContain("EADDRNOTAVAIL")
      expect(error.message).not.toContain("in use")
    }),
  )
})

/** whether this machine has an IPv6 loopback to listen on */
const hasIpv6Loopback = await new Promise<boolean>((resolve) => {
  const probe = createServer()
  probe.once("error", () => resolve(false))
  probe.listen({ host: "::1", port: 0 }, () => probe.close(() => resolve(true)))
})
if (!hasIpv6Loopback) console.warn("skipping the ::1 tests: no IPv6 loopback here")

describe("localhost is both loopback addresses", () => {
  test.skipIf(!hasIpv6Loopback)(
    "it listens on [::1] as well, and the browser's redirect there completes the login",
    () =>
      Effect.runPromise(
        Effect.scoped(
          Effect.gen(function* () {
            const server = yield* CallbackServer
            const listener = yield* server.listen({ state: "s6", ports: [freePort()] })
            expect([...listener.hosts].sort()).toEqual(["127.0.0.1", "::1"])
            const page = yield* get(`http://[::1]:${listener.port}/auth/callback?code=v6&state=s6`)
            expect(page.status).toBe(200)
            expect(yield* listener.code).toBe("v6")
          }),
        ).pipe(Effect.provide(CallbackServer.layer)),
      ),
  )

  test.skipIf(!hasIpv6Loopback)("a port whose [::1] side another program holds is busy: the next port is used", () =>
    Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const taken = freePort()
          const squatter = createServer((_, response) => response.end("someone else"))
          yield* Effect.promise(
            () => new Promise<void>((resolve) => squatter.listen({ host: "::1", port: taken }, resolve)),
          )
          yield* Effect.addFinalizer(() => Effect.sync(() => void squatter.close()))
          const server = yield* CallbackServer
          const next = freePort()
          const listener = yield* server.listen({ state: "s", ports: [taken, next] })
          expect(listener.port).toBe(next)
          // and 127.0.0.1 on the squatted port was let go again
          expect(yield* refused(taken)).toBe(true)
          const both = yield* Effect.flip(server.listen({ state: "s", ports: [taken] }))
          expect(both._tag).toBe("CallbackPortsBusy")
          expect(both.message).toContain(`[::1]:${taken} is in use by another program`)
        }),
      ).pipe(Effect.provide(CallbackServer.layer)),
    ),
  )
})

/** The registered ports themselves; only when this machine has both free. */
const registeredPortsFree = (() => {
  const bound: Array<{ stop: (force?: boolean) => unknown }> = []
  try {
    for (const port of [1455, 1457]) bound.push(Bun.serve({ hostname: "127.0.0.1", port, fetch: () => new Response() }))
    return true
  } catch {
    return false
  } finally {
    for (const server of bound) server.stop(true)
  }
})()
if (!registeredPortsFree) console.warn("skipping the 1455 -> 1457 fallback test: port 1455 or 1457 is in use here")

describe("registered ports", () => {
  test.skipIf(!registeredPortsFree)("1455 taken -> falls back to 1457 (never a random port)", () =>
    Effect.runPromise(
      Effect.scoped(
        Effect.gen(function* () {
          const blocker = Bun.serve({ hostname: "127.0.0.1", port: 1455, fetch: () => new Response("other") })
          yield* Effect.addFinalizer(() => Effect.sync(() => void blocker.stop(true)))
          const server = yield* CallbackServer
          const listener = yield* server.listen({ state: "s" })
          expect(listener.port).toBe(1457)
          expect(listener.redirectUri).toBe("http://localhost:1457/auth/callback")
          yield* get("http://127.0.0.1:1457/auth/callback?state=s&code=abc")
          expect(yield* listener.code).toBe("abc")
        }),
      ).pipe(Effect.provide(CallbackServer.layer)),
    ),
  )
})
