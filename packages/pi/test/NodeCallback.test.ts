import { afterAll, beforeAll, expect, test } from "bun:test"
import { createServer } from "node:net"
import { authorizeBrowser } from "@cortexkit/openai-auth-core/CallbackServer"
import { Http } from "@cortexkit/openai-auth-core/Http"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Layer, Redacted } from "effect"
import { listen, NodeCallbackServer } from "../src/NodeCallback.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.stop()
})

/** A port nobody listens on right now (the registered 1455/1457 may be in use on a shared machine). */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port
      server.close(() => resolve(port))
    })
  })

const services = TokenClient.layer.pipe(Layer.provideMerge(Http.layer), Layer.provideMerge(NodeCallbackServer))

test("a browser login on node:http: the issuer's redirect is received and the code exchanged", async () => {
  const account = sim.addAccount({ accountId: "acct_node_cb", email: "cb@example.test" })
  sim.nextLogin(account.accountId)
  const port = await freePort()
  const tokens = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const flow = yield* authorizeBrowser({ issuer: sim.url, ports: [port], originator: "pi" })
        expect(new URL(flow.url).searchParams.get("redirect_uri")).toBe(`http://localhost:${port}/auth/callback`)
        expect(new URL(flow.url).searchParams.get("originator")).toBe("pi")
        // the user's browser: the simulated issuer approves and redirects back to us
        yield* Effect.promise(() => fetch(flow.url))
        return yield* flow.waitForTokens
      }),
    ).pipe(Effect.provide(services)),
  )
  expect(tokens.accountId).toBe(account.accountId)
  expect(Redacted.value(tokens.access).split(".")).toHaveLength(3)
})

test("a busy port moves to the next one; a forged state or an issuer error fails the login", async () => {
  const busy = createServer().listen(0, "127.0.0.1")
  await new Promise((resolve) => busy.once("listening", resolve))
  const taken = (busy.address() as { port: number }).port
  const port = await freePort()
  const outcome = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const listener = yield* listen({ state: "s1", ports: [taken, port] })
        expect(listener.port).toBe(port)
        const page = yield* Effect.promise(() => fetch(`http://127.0.0.1:${port}/auth/callback?code=c&state=other`))
        expect(page.status).toBe(400)
        return yield* Effect.flip(listener.code)
      }),
    ),
  )
  expect(outcome._tag).toBe("LoginStateMismatch")
  const denied = await Effect.runPromise(
    Effect.scoped(
      Effect.gen(function* () {
        const listener = yield* listen({ state: "s2", ports: [port] })
        yield* Effect.promise(() =>
          fetch(`http://127.0.0.1:${port}/auth/callback?state=s2&error=access_denied&error_description=no`),
        )
        return yield* Effect.flip(listener.code)
      }),
    ),
  )
  expect(denied).toMatchObject({ _tag: "LoginDenied", error: "access_denied" })
  const none = await Effect.runPromise(Effect.scoped(Effect.flip(listen({ state: "s3", ports: [taken] }))))
  expect(none._tag).toBe("CallbackPortsBusy")
  busy.close()
})
