import { describe, expect, test } from "bun:test"
import { type AddressInfo, createServer } from "node:net"
import { Simulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Clock, Effect, Exit, Fiber, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { DeviceFlow, intervalMsFrom, MIN_POLL_MS, pollWaitMs } from "../src/DeviceFlow.ts"

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

/** lets real I/O (the poll's HTTP exchange) run between two steps of the test clock */
const ioTurn = Effect.promise(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** moves the test clock a poll interval at a time until the fiber is done (bounded) */
const driveUntilDone = <A, E>(fiber: Fiber.Fiber<A, E>) =>
  Effect.gen(function* () {
    for (let step = 0; step < 2_000; step++) {
      const exit = fiber.pollUnsafe()
      if (exit !== undefined) return exit
      for (let i = 0; i < 20; i++) yield* ioTurn
      yield* TestClock.adjust(MIN_POLL_MS)
    }
    return yield* Effect.die(new Error("the poll never ended"))
  })

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
      // the simulator says 0: still once a second
      expect(code.intervalMs).toBe(MIN_POLL_MS)
      const exit = yield* driveUntilDone(yield* Effect.forkChild(flow.poll(code)))
      expect(Exit.isSuccess(exit) && exit.value).toMatchObject({ accountId: "acct_dev", email: "d@example.com" })
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
  test("seconds as a string, plus the margin; never under a second; junk falls back to 5 s", () => {
    expect(intervalMsFrom("1")).toBe(4000)
    expect(intervalMsFrom(" 2 ")).toBe(5000)
    expect(intervalMsFrom(3)).toBe(6000)
    expect(intervalMsFrom("0")).toBe(MIN_POLL_MS)
    expect(intervalMsFrom(0)).toBe(MIN_POLL_MS)
    expect(intervalMsFrom("0.000001")).toBeGreaterThanOrEqual(MIN_POLL_MS)
    expect(intervalMsFrom(undefined)).toBe(8000)
    expect(intervalMsFrom("soon")).toBe(8000)
    expect(intervalMsFrom("-1")).toBe(8000)
  })

  test("after polls that could not reach the issuer the wait doubles, up to a minute", () => {
    expect([0, 1, 2, 3, 6, 7, 20].map((failures) => pollWaitMs(1000, failures))).toEqual([
      1000, 2000, 4000, 8000, 60_000, 60_000, 60_000,
    ])
    expect(pollWaitMs(0, 0)).toBe(MIN_POLL_MS)
  })
})

/**
 * A device issuer on a raw socket that notes the test clock's time of every poll: `pending` answers 403,
 * `drop` closes the connection without an answer (the network failing mid-wait).
 */
const pacedIssuer = (interval: string) =>
  Effect.gen(function* () {
    const clock = yield* Clock.Clock
    const polls: Array<number> = []
    const state = { mode: "pending" as "pending" | "drop" }
    const server = createServer((socket) => {
      socket.on("error", () => {})
      socket.once("data", (data) => {
        const path = data.toString("latin1").split(" ")[1] ?? ""
        const reply = (status: number, body: unknown) => {
          const text = JSON.stringify(body)
          socket.end(
            `HTTP/1.1 ${status} X\r\ncontent-type: application/json\r\ncontent-length: ${text.length}\r\nconnection: close\r\n\r\n${text}`,
          )
        }
        if (path.endsWith("/usercode")) return reply(200, { device_auth_id: "d1", user_code: "AB-CD", interval })
        polls.push(clock.currentTimeMillisUnsafe())
        if (state.mode === "drop") return void socket.destroy()
        reply(403, { error: { code: "deviceauth_pending" } })
      })
    })
    yield* Effect.acquireRelease(
      Effect.promise(() => new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))),
      () => Effect.sync(() => void server.close()),
    )
    const address = server.address() as AddressInfo
    return { url: `http://127.0.0.1:${address.port}`, polls, state }
  })

/** the test clock in small steps, with real I/O between them, until `polls` reached `count` (bounded) */
const advanceUntil = (polls: ReadonlyArray<number>, count: number) =>
  Effect.gen(function* () {
    for (let step = 0; step < 20_000 && polls.length < count; step++) {
      for (let i = 0; i < 5; i++) yield* ioTurn
      yield* TestClock.adjust(100)
    }
    expect(polls.length).toBeGreaterThanOrEqual(count)
  })

const gaps = (polls: ReadonlyArray<number>) => polls.slice(1).map((t, i) => t - (polls[i] as number))

describe("device polling pace, over a real socket, on the test clock", () => {
  const run = testEffect(DeviceFlow.layer).effect

  for (const interval of ["0", "0.001", "-3", ""]) {
    run(`interval ${JSON.stringify(interval)}: never more than one poll a second`, () =>
      Effect.gen(function* () {
        const issuer = yield* pacedIssuer(interval)
        const flow = yield* DeviceFlow
        const polling = yield* Effect.forkChild(flow.poll(yield* flow.start({ issuer: issuer.url })))
        yield* advanceUntil(issuer.polls, 6)
        yield* Fiber.interrupt(polling)
        for (const gap of gaps(issuer.polls)) expect(gap).toBeGreaterThanOrEqual(MIN_POLL_MS)
      }),
    )
  }

  run("polls that cannot reach the issuer back off (2 s, 4 s, 8 s), and the code is not given up", () =>
    Effect.gen(function* () {
      const issuer = yield* pacedIssuer("0")
      const flow = yield* DeviceFlow
      const polling = yield* Effect.forkChild(flow.poll(yield* flow.start({ issuer: issuer.url })))
      issuer.state.mode = "drop"
      yield* advanceUntil(issuer.polls, 4)
      const [first, second, third] = gaps(issuer.polls)
      expect(first).toBeGreaterThanOrEqual(2 * MIN_POLL_MS)
      expect(second).toBeGreaterThanOrEqual(4 * MIN_POLL_MS)
      expect(third).toBeGreaterThanOrEqual(8 * MIN_POLL_MS)
      // the issuer is back: still polling (pending), not failed
      issuer.state.mode = "pending"
      yield* advanceUntil(issuer.polls, 6)
      expect(Option.isNone(Option.fromUndefinedOr(polling.pollUnsafe()))).toBe(true)
      yield* Fiber.interrupt(polling)
    }),
  )
})
