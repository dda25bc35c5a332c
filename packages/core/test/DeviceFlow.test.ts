import { describe, expect, test } from "bun:test"
import { Simulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Exit, Fiber, Layer } from "effect"
import { TestClock } from "effect/testing"
import { DeviceFlow, intervalMsFrom } from "../src/DeviceFlow.ts"

const it = testEffect(Layer.mergeAll(Simulator.layer, DeviceFlow.layer))

/** An issuer on 127.0.0.1 whose device endpoints answer what the test needs. */
const stubIssuer = (answer: (path: string) => Response) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const server = Bun.serve({
        hostname: "127.0.0.1",
        port: 0,
        fetch: (request) => answer(new URL(request.url).pathname),
      })
      return { url: `http://127.0.0.1:${server.port}`, server }
    }),
    ({ server }) => Effect.sync(() => void server.stop(true)),
  )

describe("device-code login against the simulator", () => {
  it.effect("start -> pending polls -> approval -> code exchange", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const flow = yield* DeviceFlow
      sim.addAccount({ accountId: "acct_dev", email: "d@example.com" })
      sim.setDevice({ interval: "0", approveAfterPolls: 3 })
      const code = yield* flow.start({ issuer: sim.url })
      expect(code.verificationUrl).toBe(`${sim.url}/codex/device`)
      expect(code.userCode).toMatch(/^[A-Z0-9]+-[A-Z0-9]+$/)
      expect(code.deviceAuthId).toMatch(/^deviceauth_/)
      expect(code.intervalMs).toBe(0)
      const tokens = yield* flow.poll(code)
      expect(tokens).toMatchObject({ accountId: "acct_dev", email: "d@example.com" })
    }),
  )

  it.effect("the advertised interval gets the 3 s safety margin", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      sim.setDevice({ interval: "5" })
      expect((yield* (yield* DeviceFlow).start({ issuer: sim.url })).intervalMs).toBe(8000)
    }),
  )

  it.effect("gives up after 15 minutes on the Clock", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const flow = yield* DeviceFlow
      sim.addAccount({ accountId: "acct_slow" })
      sim.setDevice({ interval: "0", approveAfterPolls: 1_000_000 })
      const code = yield* flow.start({ issuer: sim.url })
      const polling = yield* Effect.forkChild(flow.poll(code))
      yield* TestClock.adjust("15 minutes")
      const exit = yield* Fiber.await(polling)
      expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toContain("DeviceCodeExpired")
    }),
  )

  it.effect("a refusal other than 403/404 while polling fails the login", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      const flow = yield* DeviceFlow
      // no account to sign in as: the simulator answers 400 once the code is "approved"
      sim.setDevice({ interval: "0", approveAfterPolls: 0 })
      const error = yield* Effect.flip(flow.poll(yield* flow.start({ issuer: sim.url })))
      expect(error).toMatchObject({ _tag: "DeviceAuthFailed", status: 400 })
    }),
  )
})

describe("device-code login against hand-made issuers", () => {
  const run = testEffect(DeviceFlow.layer).effect

  run("404 on usercode means device login is not enabled", () =>
    Effect.gen(function* () {
      const stub = yield* stubIssuer(() => new Response("not found", { status: 404 }))
      const error = yield* Effect.flip((yield* DeviceFlow).start({ issuer: stub.url }))
      expect(error._tag).toBe("DeviceLoginNotEnabled")
      expect(error.message).toContain(stub.url)
    }),
  )

  run("a malformed usercode answer is a clear failure", () =>
    Effect.gen(function* () {
      const stub = yield* stubIssuer(() => Response.json({ device_auth_id: "d1", interval: "1" }))
      const error = yield* Effect.flip((yield* DeviceFlow).start({ issuer: stub.url }))
      expect(error._tag).toBe("DeviceAuthFailed")
      expect(error.message).toContain("no user_code")
    }),
  )

  run("a malformed approval is a clear failure; `usercode` is accepted as an alias", () =>
    Effect.gen(function* () {
      const stub = yield* stubIssuer((path) =>
        path.endsWith("/usercode")
          ? Response.json({ device_auth_id: "d1", usercode: "AB-CD", interval: 0 })
          : Response.json({ authorization_code: "ac" }),
      )
      const flow = yield* DeviceFlow
      const code = yield* flow.start({ issuer: stub.url })
      expect(code.userCode).toBe("AB-CD")
      const error = yield* Effect.flip(flow.poll(code))
      expect(error._tag).toBe("DeviceAuthFailed")
      expect(error.message).toContain("code_verifier")
    }),
  )
})

describe("intervalMsFrom", () => {
  test("seconds as a string, plus the margin; 0 stays 0; junk falls back to 5 s", () => {
    expect(intervalMsFrom("1")).toBe(4000)
    expect(intervalMsFrom(" 2 ")).toBe(5000)
    expect(intervalMsFrom(3)).toBe(6000)
    expect(intervalMsFrom("0")).toBe(0)
    expect(intervalMsFrom(undefined)).toBe(8000)
    expect(intervalMsFrom("soon")).toBe(8000)
    expect(intervalMsFrom("-1")).toBe(8000)
  })
})
