import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SseParser } from "@cortexkit/openai-auth-core/Sse"
import type { StreamEventListener } from "@cortexkit/openai-auth-core/StreamEvent"
import { type SimAccount, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { it } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import { type HttpTransportOptions, makeHttpTransport, resolveHttpOptions, sendHttp } from "../src/HttpTransport.ts"
import { PreOutputFailure, TransportAborted, type TransportRequest } from "../src/Transport.ts"
import {
  anyAccount,
  makeRequest,
  readAll,
  recorder,
  simRequest,
  sse,
  startScriptedServer,
  text,
} from "./HttpTransportFixtures.ts"
import { crossDeadline, makeSleepProbe, withProbe } from "./support/SleepProbe.ts"

let sim: SimulatorHandle
let acct: SimAccount

/** One request through `sendHttp` on the real clock. */
const sendHttpNow = (request: TransportRequest, listener: StreamEventListener, options: HttpTransportOptions = {}) =>
  Effect.runPromise(Effect.flatMap(resolveHttpOptions(options), (resolved) => sendHttp(request, listener, resolved)))

beforeAll(async () => {
  sim = await startSimulator()
  acct = sim.addAccount({ accountId: "acct_http", plan: "plus" })
})
afterAll(() => sim.stop())

const failureOf = async (promise: Promise<unknown>): Promise<unknown> => {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error("expected a failure")
}

const created = { type: "response.created", response: { id: "resp_1", status: "in_progress" } }
const progress = { type: "response.in_progress", response: { id: "resp_1", status: "in_progress" } }
const delta = { type: "response.output_text.delta", delta: "Hi", item_id: "msg_1", output_index: 0 }
const completed = {
  type: "response.completed",
  response: { id: "resp_1", status: "completed", usage: { input_tokens: 3, output_tokens: 1, total_tokens: 4 } },
}

describe("HttpTransport commit point", () => {
  test("held events are replayed byte-exact and the rest passes through", async () => {
    // split mid-event so the held chunks are not event-aligned
    const whole = sse(created) + sse(progress) + sse(delta) + sse(delta) + sse(completed)
    const chunks = [whole.slice(0, 17), whole.slice(17, 90), whole.slice(90, 200), whole.slice(200)]
    const server = startScriptedServer(chunks)
    try {
      const { events, listener } = recorder()
      const response = await sendHttpNow(makeRequest(server.url, anyAccount), listener)
      expect(response.transport).toBe("http")
      expect(response.status).toBe(200)
      expect(events.map((e) => e._tag)).toContain("FirstOutput")
      expect(text(await readAll(response.body))).toBe(whole)
      expect(events.at(-1)).toMatchObject({ _tag: "Terminal", outcome: "completed" })
    } finally {
      server.stop()
    }
  })

  test("a simulator reply parses with the core parser and reports quota, id, usage, terminal", async () => {
    sim.setQuota(acct.accountId, { primaryUsedPercent: 42 })
    const { events, listener } = recorder()
    const response = await sendHttpNow(simRequest(sim, acct, { prompt_cache_key: "http-ok" }), listener)
    const messages = new SseParser().push(await readAll(response.body))
    expect(messages[0]?.event).toBe("response.created")
    expect(messages.at(-1)?.event).toBe("response.completed")
    const tags = events.map((e) => e._tag)
    expect(tags[0]).toBe("Quota")
    expect(tags).toEqual(expect.arrayContaining(["ResponseId", "FirstOutput", "Usage", "Terminal"]))
    const quota = events.find((e) => e._tag === "Quota")
    expect(quota?._tag === "Quota" && quota.snapshot.fiveHour?.usedPercent).toBe(42)
  })

  test("429 usage_limit_reached -> PreOutputFailure(UsageLimit) with quota from the headers", async () => {
    sim.script(acct.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 600 } })
    const { events, listener } = recorder()
    const error = await failureOf(sendHttpNow(simRequest(sim, acct), listener))
    expect(error).toBeInstanceOf(PreOutputFailure)
    const failure = error as PreOutputFailure
    expect(failure.status).toBe(429)
    expect(failure.failure._tag).toBe("UsageLimit")
    expect(failure.quota).toBeDefined()
    expect(events.some((e) => e._tag === "Quota")).toBe(true)
    expect(events.at(-1)).toMatchObject({ _tag: "Terminal", outcome: "error" })
  })

  test("401 -> AuthFailure, 503 -> Transient, burst 429 -> BurstRateLimit", async () => {
    const bad = { accountId: acct.accountId, tokens: { ...acct.tokens, access: "not-a-token" } }
    const unauthorized = (await failureOf(
      sendHttpNow(simRequest(sim, bad as SimAccount), () => {}),
    )) as PreOutputFailure
    expect(unauthorized.failure._tag).toBe("AuthFailure")
    expect(unauthorized.status).toBe(401)

    sim.script(acct.accountId, { fault: { kind: "status", status: 503 } })
    const unavailable = (await failureOf(sendHttpNow(simRequest(sim, acct), () => {}))) as PreOutputFailure
    expect(unavailable.failure._tag).toBe("Transient")

    sim.script(acct.accountId, { fault: { kind: "burst_429", retryAfterSeconds: 2 } })
    const burst = (await failureOf(sendHttpNow(simRequest(sim, acct), () => {}))) as PreOutputFailure
    expect(burst.failure._tag).toBe("BurstRateLimit")
  })

  test("response.failed before output -> PreOutputFailure with the classified failure", async () => {
    sim.script(acct.accountId, { fault: { kind: "failed_before_output", code: "context_length_exceeded" } })
    const { events, listener } = recorder()
    const error = (await failureOf(sendHttpNow(simRequest(sim, acct), listener))) as PreOutputFailure
    expect(error).toBeInstanceOf(PreOutputFailure)
    expect(error.failure._tag).toBe("ContextTooLong")
    expect(error.status).toBe(200)
    expect(events.filter((e) => e._tag === "Terminal")).toHaveLength(1)
  })

  test("a connection reset after output errors the body and reports Terminal dropped", async () => {
    // a reset can discard bytes the client has not read yet: reset only once the output reached the client
    const outputRead = Promise.withResolvers<void>()
    const server = startScriptedServer([sse(created), sse(delta)], { reset: outputRead.promise })
    try {
      const { events, listener } = recorder()
      const response = await sendHttpNow(makeRequest(server.url, anyAccount), listener)
      outputRead.resolve()
      expect(await failureOf(readAll(response.body))).toBeDefined()
      expect(events.filter((e) => e._tag === "Terminal")).toHaveLength(1)
      expect(events.at(-1)).toMatchObject({ _tag: "Terminal", outcome: "dropped" })
    } finally {
      server.stop()
    }
  })

  test("a stream that ends before any terminal event and without output -> PreOutputFailure(Transient)", async () => {
    const server = startScriptedServer([sse(created), sse(progress)])
    try {
      const error = (await failureOf(sendHttpNow(makeRequest(server.url, anyAccount), () => {}))) as PreOutputFailure
      expect(error).toBeInstanceOf(PreOutputFailure)
      expect(error.failure._tag).toBe("Transient")
    } finally {
      server.stop()
    }
  })
})

describe("HttpTransport deadlines on the Effect Clock, and abort", () => {
  /** `sendHttp` forked on the probe's clock: its deadlines are what the probe sees */
  const sendOn = (
    probe: Parameters<typeof withProbe>[0],
    request: TransportRequest,
    listener: StreamEventListener,
    options: HttpTransportOptions,
  ) =>
    Effect.forkChild(
      withProbe(probe)(
        Effect.flatMap(resolveHttpOptions(options), (resolved) => sendHttp(request, listener, resolved)),
      ),
      { startImmediately: true },
    )

  const scripted = (chunks: ReadonlyArray<string>, options: { stall?: boolean } = {}) =>
    Effect.acquireRelease(
      Effect.sync(() => startScriptedServer(chunks, options)),
      (server) => Effect.sync(() => server.stop()),
    )

  it.effect(
    "no answer within the first-byte budget -> TransportTimeout (headers never came: a stall, not a connect error)",
    () =>
      Effect.gen(function* () {
        const probe = yield* makeSleepProbe
        const server = yield* scripted([], { stall: true })
        const fiber = yield* sendOn(probe, makeRequest(server.url, anyAccount), () => {}, {
          firstByteTimeoutMs: 60_000,
        })
        yield* crossDeadline(probe, 60_000, fiber)
        const error = yield* Effect.flip(Fiber.join(fiber))
        // Bun.serve only flushes the headers with the first body chunk
        expect(error).toMatchObject({ _tag: "TransportTimeout", phase: "first-byte", afterMs: 60_000 })
      }),
  )

  it.effect(
    "the simulator's slow first byte past the budget -> TransportTimeout, Terminal dropped not reported twice",
    () =>
      Effect.gen(function* () {
        const probe = yield* makeSleepProbe
        sim.script(acct.accountId, { fault: { kind: "slow_first_byte", ms: 1500 } })
        const { events, listener } = recorder()
        const fiber = yield* sendOn(probe, simRequest(sim, acct), listener, { firstByteTimeoutMs: 60_000 })
        yield* probe.sleeping(60_000)
        yield* TestClock.adjust(60_000)
        const error = yield* Effect.flip(Fiber.join(fiber))
        expect(error._tag).toBe("TransportTimeout")
        expect(events.filter((e) => e._tag === "Terminal").length).toBeLessThanOrEqual(1)
      }),
  )

  it.effect("silence after a pre-output event -> TransportTimeout(idle) before the commit", () =>
    Effect.gen(function* () {
      const probe = yield* makeSleepProbe
      const server = yield* scripted([sse(created)], { stall: true })
      const { events, listener } = recorder()
      const fiber = yield* sendOn(probe, makeRequest(server.url, anyAccount), listener, { idleTimeoutMs: 10_000 })
      // the commit point's alarm, moved to the idle limit by the first chunk
      yield* probe.sleeping(10_000)
      yield* TestClock.adjust(10_000)
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "TransportTimeout", phase: "idle", afterMs: 10_000 })
      expect(events.at(-1)).toMatchObject({ _tag: "Terminal", outcome: "dropped" })
    }),
  )

  it.effect("idle timeout after the commit errors the body and reports Terminal dropped", () =>
    Effect.gen(function* () {
      const probe = yield* makeSleepProbe
      const server = yield* scripted([sse(created), sse(delta)], { stall: true })
      const { events, listener } = recorder()
      const fiber = yield* sendOn(probe, makeRequest(server.url, anyAccount), listener, { idleTimeoutMs: 10_000 })
      yield* probe.sleeping(10_000)
      const response = yield* Fiber.join(fiber)
      const reading = readAll(response.body).then(
        () => undefined,
        (e: unknown) => e,
      )
      yield* TestClock.adjust(10_000)
      const error = yield* Effect.promise(() => reading)
      expect(error).toMatchObject({ _tag: "TransportTimeout", phase: "idle" })
      expect(events.at(-1)).toMatchObject({ _tag: "Terminal", outcome: "dropped" })
    }),
  )

  test("abort before the first byte -> TransportAborted", async () => {
    const server = startScriptedServer([sse(created)], { stall: true })
    try {
      const controller = new AbortController()
      const pending = sendHttpNow(makeRequest(server.url, anyAccount, {}, { signal: controller.signal }), () => {})
      controller.abort()
      expect(await failureOf(pending)).toBeInstanceOf(TransportAborted)
    } finally {
      server.stop()
    }
  })

  test("abort after the commit errors the body", async () => {
    const server = startScriptedServer([sse(created), sse(delta)], { stall: true })
    try {
      const controller = new AbortController()
      const response = await sendHttpNow(
        makeRequest(server.url, anyAccount, {}, { signal: controller.signal }),
        () => {},
      )
      const reading = readAll(response.body)
      controller.abort()
      expect(await failureOf(reading)).toBeDefined()
    } finally {
      server.stop()
    }
  })
})

describe("HttpTransport through its Effect API", () => {
  test("makeHttpTransport sends and answers", async () => {
    const program = Effect.gen(function* () {
      const transport = yield* makeHttpTransport({ idleTimeoutMs: 5000 })
      const { listener } = recorder()
      const response = yield* transport.send(simRequest(sim, acct), listener)
      const body = yield* Effect.promise(() => readAll(response.body))
      return { kind: transport.kind, body: text(body) }
    })
    const result = await Effect.runPromise(program)
    expect(result.kind).toBe("http")
    expect(result.body).toContain("response.completed")
  })

  test("an Effect failure carries the typed PreOutputFailure", async () => {
    sim.script(acct.accountId, { fault: { kind: "status", status: 500 } })
    const program = Effect.gen(function* () {
      const transport = yield* makeHttpTransport()
      return yield* Effect.flip(transport.send(simRequest(sim, acct), () => {}))
    })
    const error = await Effect.runPromise(program)
    expect(error._tag).toBe("PreOutputFailure")
  })
})
