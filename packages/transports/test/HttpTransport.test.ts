import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { SseParser } from "@cortexkit/openai-auth-core/Sse"
import { type SimAccount, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect } from "effect"
import { HttpTransport, resolveHttpOptions, sendHttp } from "../src/HttpTransport.ts"
import { PreOutputFailure, Transport, TransportAborted, TransportTimeout } from "../src/Transport.ts"
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

let sim: SimulatorHandle
let acct: SimAccount
const http = resolveHttpOptions()

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
      const response = await sendHttp(makeRequest(server.url, anyAccount), listener, http)
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
    const response = await sendHttp(simRequest(sim, acct, { prompt_cache_key: "http-ok" }), listener, http)
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
    const error = await failureOf(sendHttp(simRequest(sim, acct), listener, http))
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
      sendHttp(simRequest(sim, bad as SimAccount), () => {}, http),
    )) as PreOutputFailure
    expect(unauthorized.failure._tag).toBe("AuthFailure")
    expect(unauthorized.status).toBe(401)

    sim.script(acct.accountId, { fault: { kind: "status", status: 503 } })
    const unavailable = (await failureOf(sendHttp(simRequest(sim, acct), () => {}, http))) as PreOutputFailure
    expect(unavailable.failure._tag).toBe("Transient")

    sim.script(acct.accountId, { fault: { kind: "burst_429", retryAfterSeconds: 2 } })
    const burst = (await failureOf(sendHttp(simRequest(sim, acct), () => {}, http))) as PreOutputFailure
    expect(burst.failure._tag).toBe("BurstRateLimit")
  })

  test("response.failed before output -> PreOutputFailure with the classified failure", async () => {
    sim.script(acct.accountId, { fault: { kind: "failed_before_output", code: "context_length_exceeded" } })
    const { events, listener } = recorder()
    const error = (await failureOf(sendHttp(simRequest(sim, acct), listener, http))) as PreOutputFailure
    expect(error).toBeInstanceOf(PreOutputFailure)
    expect(error.failure._tag).toBe("ContextTooLong")
    expect(error.status).toBe(200)
    expect(events.filter((e) => e._tag === "Terminal")).toHaveLength(1)
  })

  test("a connection reset after output errors the body and reports Terminal dropped", async () => {
    const server = startScriptedServer([sse(created), sse(delta)], { reset: true })
    try {
      const { events, listener } = recorder()
      const response = await sendHttp(makeRequest(server.url, anyAccount), listener, http)
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
      const error = (await failureOf(sendHttp(makeRequest(server.url, anyAccount), () => {}, http))) as PreOutputFailure
      expect(error).toBeInstanceOf(PreOutputFailure)
      expect(error.failure._tag).toBe("Transient")
    } finally {
      server.stop()
    }
  })
})

describe("HttpTransport timeouts and abort", () => {
  test("no answer at all within the first-byte budget -> TransportTimeout (headers never came: a stall, not a connect error)", async () => {
    const server = startScriptedServer([], { stall: true })
    try {
      const options = resolveHttpOptions({ firstByteTimeoutMs: 150 })
      const started = performance.now()
      const error = await failureOf(sendHttp(makeRequest(server.url, anyAccount), () => {}, options))
      expect(error).toBeInstanceOf(TransportTimeout)
      // Bun.serve only flushes the headers with the first body chunk
      expect((error as TransportTimeout).phase).toBe("first-byte")
      expect(performance.now() - started).toBeLessThan(2000)
    } finally {
      server.stop()
    }
  })

  test("the simulator's slow first byte past the budget -> TransportTimeout, Terminal dropped not reported twice", async () => {
    sim.script(acct.accountId, { fault: { kind: "slow_first_byte", ms: 1500 } })
    const { events, listener } = recorder()
    const error = await failureOf(
      sendHttp(simRequest(sim, acct), listener, resolveHttpOptions({ firstByteTimeoutMs: 150 })),
    )
    expect(error).toBeInstanceOf(TransportTimeout)
    expect(events.filter((e) => e._tag === "Terminal").length).toBeLessThanOrEqual(1)
  })

  test("silence after a pre-output event -> TransportTimeout(idle) before the commit", async () => {
    const server = startScriptedServer([sse(created)], { stall: true })
    try {
      const { events, listener } = recorder()
      const options = resolveHttpOptions({ idleTimeoutMs: 150 })
      const error = await failureOf(sendHttp(makeRequest(server.url, anyAccount), listener, options))
      expect(error).toBeInstanceOf(TransportTimeout)
      expect((error as TransportTimeout).phase).toBe("idle")
      expect(events.at(-1)).toMatchObject({ _tag: "Terminal", outcome: "dropped" })
    } finally {
      server.stop()
    }
  })

  test("idle timeout after the commit errors the body and reports Terminal dropped", async () => {
    const server = startScriptedServer([sse(created), sse(delta)], { stall: true })
    try {
      const { events, listener } = recorder()
      const options = resolveHttpOptions({ idleTimeoutMs: 150 })
      const response = await sendHttp(makeRequest(server.url, anyAccount), listener, options)
      const error = await failureOf(readAll(response.body))
      expect(error).toBeInstanceOf(TransportTimeout)
      expect((error as TransportTimeout).phase).toBe("idle")
      expect(events.at(-1)).toMatchObject({ _tag: "Terminal", outcome: "dropped" })
    } finally {
      server.stop()
    }
  })

  test("abort before the first byte -> TransportAborted", async () => {
    const server = startScriptedServer([sse(created)], { stall: true })
    try {
      const controller = new AbortController()
      const pending = sendHttp(makeRequest(server.url, anyAccount, {}, { signal: controller.signal }), () => {}, http)
      setTimeout(() => controller.abort(), 50)
      expect(await failureOf(pending)).toBeInstanceOf(TransportAborted)
    } finally {
      server.stop()
    }
  })

  test("abort after the commit errors the body", async () => {
    const server = startScriptedServer([sse(created), sse(delta)], { stall: true })
    try {
      const controller = new AbortController()
      const response = await sendHttp(
        makeRequest(server.url, anyAccount, {}, { signal: controller.signal }),
        () => {},
        http,
      )
      const reading = readAll(response.body)
      controller.abort()
      expect(await failureOf(reading)).toBeDefined()
    } finally {
      server.stop()
    }
  })
})

describe("HttpTransport layer", () => {
  test("Transport from HttpTransport.layerWith sends through the Effect API", async () => {
    const program = Effect.gen(function* () {
      const transport = yield* Transport
      const { listener } = recorder()
      const response = yield* transport.send(simRequest(sim, acct), listener)
      const body = yield* Effect.promise(() => readAll(response.body))
      return { kind: transport.kind, body: text(body) }
    })
    const result = await Effect.runPromise(
      program.pipe(Effect.provide(HttpTransport.layerWith({ idleTimeoutMs: 5000 }))),
    )
    expect(result.kind).toBe("http")
    expect(result.body).toContain("response.completed")
  })

  test("an Effect failure carries the typed PreOutputFailure", async () => {
    sim.script(acct.accountId, { fault: { kind: "status", status: 500 } })
    const program = Effect.gen(function* () {
      const transport = yield* Transport
      return yield* Effect.flip(transport.send(simRequest(sim, acct), () => {}))
    })
    const error = await Effect.runPromise(program.pipe(Effect.provide(HttpTransport.layer)))
    expect(error._tag).toBe("PreOutputFailure")
  })
})
