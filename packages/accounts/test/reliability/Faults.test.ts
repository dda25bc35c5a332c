/**
 * Faults through the whole routed pipeline (credentials, rewrite, transport, classification) against the
 * simulator, over HTTP and WebSocket. What must hold: a fallback only before any output, one answer per turn
 * (the simulator's request count and the output events are counted), no tool call run twice, and a clear
 * error otherwise.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, ManagedRuntime } from "effect"
import { TestClock } from "effect/testing"
import { MAIN } from "../../src/AccountKey.ts"
import { RoutedClient } from "../../src/RoutedClient.ts"
import { Store } from "../../src/Store.ts"
import {
  accountsLayer,
  fallbackAccount,
  HostStore,
  hostRequest,
  hostTokens,
  readAll,
  settingsFor,
  tempDir,
} from "../support/fixture.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.stop()
  console.log(`[faults] ${held.length} fault scenarios held:\n  ${held.join("\n  ")}`)
})
const held: Array<string> = []

const setup = async (extra: Record<string, string> = {}) => {
  const id = crypto.randomUUID().slice(0, 8)
  const main = sim.addAccount({ accountId: `acct_fm_${id}`, userId: `user_fm_${id}` })
  const fallback = sim.addAccount({ accountId: `acct_ff_${id}`, userId: `user_ff_${id}` })
  const dir = tempDir("oa-rel-faults-")
  const host = new HostStore(main)
  const runtime = ManagedRuntime.make(accountsLayer({ sim, storePath: `${dir.dir}/openai-auth.json`, host }))
  await runtime.runPromise(
    Effect.gen(function* () {
      const store = yield* Store
      yield* store.update((doc) => ({ ...doc, accounts: [fallbackAccount(fallback)] }))
    }),
  )
  const settings = settingsFor(sim, extra)
  const send = (session: string, s = settings, signal?: AbortSignal) =>
    runtime.runPromise(
      Effect.gen(function* () {
        const client = yield* RoutedClient
        return yield* client.send(hostRequest(session), { settings: s, signal }).pipe(Effect.result)
      }),
    )
  const codexRequests = (session: string) =>
    sim.requests.filter(
      (r) =>
        r.path.endsWith("/responses") &&
        (r.body as { prompt_cache_key?: string; generate?: boolean })?.prompt_cache_key === session &&
        (r.body as { generate?: boolean }).generate !== false,
    )
  return {
    main,
    fallback,
    host,
    runtime,
    settings,
    send,
    codexRequests,
    [Symbol.asyncDispose]: async () => {
      await runtime.dispose()
      dir[Symbol.dispose]()
    },
  }
}

/** the SSE text and how many output events / completions it holds */
const drain = async (body: ReadableStream<Uint8Array>) => {
  let text = ""
  let error: string | undefined
  const decoder = new TextDecoder()
  const reader = body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      text += decoder.decode(value, { stream: true })
    }
  } catch (e) {
    error = e instanceof Error ? e.message : String(e)
  }
  const count = (type: string) => text.split(`event: ${type}\n`).length - 1
  return {
    text,
    error,
    deltas: count("response.output_text.delta"),
    completed: count("response.completed"),
    toolCalls: (text.match(/"type":"function_call"/g) ?? []).length,
  }
}

const closedPort = async () => {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("") })
  const port = server.port
  await server.stop(true)
  return port
}

for (const transport of ["http", "ws"] as const) {
  const extra = transport === "ws" ? { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1" } : {}
  describe(`faults over ${transport}`, () => {
    test("connection refused: a clear BackendUnreachable, nothing served, nothing retried forever", async () => {
      await using t = await setup(extra)
      const port = await closedPort()
      const result = await t.send(`${transport}_ses_refused`, {
        ...t.settings,
        codexApiEndpoint: `http://127.0.0.1:${port}/backend-api/codex/responses`,
      })
      expect(result._tag).toBe("Failure")
      if (result._tag === "Failure") {
        expect(result.failure._tag).toBe("BackendUnreachable")
        expect(result.failure.message).toMatch(/127\.0\.0\.1|connect|refused|reach/i)
      }
      held.push(
        `${transport} connection refused -> BackendUnreachable (${result._tag === "Failure" ? result.failure.message.slice(0, 60) : "?"})`,
      )
    })

    test("5xx and response.failed before output fall back to the next account, one answer in total", async () => {
      for (const fault of [{ kind: "status", status: 503 }, { kind: "failed_before_output" }] as const) {
        await using t = await setup(extra)
        sim.script(t.main.accountId, { fault })
        const session = `${transport}_ses_pre_${fault.kind}`
        const result = await t.send(session)
        if (result._tag !== "Success") throw new Error(`not served: ${result.failure.message}`)
        const out = await drain(result.success.response.body)
        expect(result.success.account).not.toBe(MAIN)
        expect(out.completed).toBe(1)
        expect(t.codexRequests(session).map((r) => r.accountId)).toEqual([t.main.accountId, t.fallback.accountId])
        held.push(`${transport} ${fault.kind} before output -> fallback served, 2 requests, 1 completion`)
      }
    })

    test("reset mid-stream after output: no fallback, no replay, the stream ends in an error or is cut", async () => {
      await using t = await setup(extra)
      sim.script(t.main.accountId, { fault: { kind: "drop_mid_stream", afterDeltas: 1 } })
      const result = await t.send(`${transport}_ses_reset`)
      if (result._tag !== "Success") throw new Error(`not served: ${result.failure.message}`)
      const out = await drain(result.success.response.body)
      expect(result.success.account).toBe(MAIN)
      expect(out.completed).toBe(0)
      expect(out.deltas).toBeGreaterThanOrEqual(1)
      expect(t.codexRequests(`${transport}_ses_reset`)).toHaveLength(1)
      held.push(
        `${transport} reset after ${out.deltas} delta(s) -> 1 request, 0 completions, ${out.error ? `error "${out.error.slice(0, 40)}"` : "stream cut"}`,
      )
    })

    test("slow first byte: served once by the same account", async () => {
      await using t = await setup(extra)
      sim.script(t.main.accountId, { fault: { kind: "slow_first_byte", ms: 400 } })
      const started = Date.now()
      const result = await t.send(`${transport}_ses_slow`)
      if (result._tag !== "Success") throw new Error(`not served: ${result.failure.message}`)
      const out = await drain(result.success.response.body)
      expect(result.success.account).toBe(MAIN)
      expect(out.completed).toBe(1)
      expect(t.codexRequests(`${transport}_ses_slow`)).toHaveLength(1)
      held.push(`${transport} slow first byte (400 ms) -> served once in ${Date.now() - started} ms`)
    })

    test("malformed SSE: a clear outcome, at most one request per account, never two answers", async () => {
      await using t = await setup(extra)
      sim.script(t.main.accountId, { fault: { kind: "malformed_sse" } })
      // the signal only bounds the test: a malformed answer must end well before it on either transport
      const signal = AbortSignal.timeout(1500)
      const result = await t.send(`${transport}_ses_malformed`, t.settings, signal)
      const requests = t.codexRequests(`${transport}_ses_malformed`).map((r) => r.accountId)
      expect(new Set(requests).size).toBe(requests.length)
      let summary: string
      if (result._tag === "Success") {
        const out = await drain(result.success.response.body)
        expect(out.completed).toBeLessThanOrEqual(1)
        summary = `served by ${result.success.account === MAIN ? "main" : "fallback"}, ${out.completed} completion(s)${out.error ? `, ended by "${out.error.slice(0, 40)}"` : ""}`
      } else {
        expect(result.failure._tag).not.toBe("RequestAborted")
        expect(result.failure.message.length).toBeGreaterThan(0)
        summary = `${result.failure._tag}: ${result.failure.message.slice(0, 50)}`
      }
      held.push(`${transport} malformed SSE -> ${summary}, ${requests.length} request(s)`)
    })
  })
}

// a frame that is not JSON used to be dropped silently, leaving the turn to the 60 s first-byte limit
test("WebSocket: a malformed frame before output falls back at once, like HTTP", async () => {
  await using t = await setup({ CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1" })
  sim.script(t.main.accountId, { fault: { kind: "malformed_sse" } })
  const result = await t.send("ses_ws_malformed_todo", t.settings, AbortSignal.timeout(3000))
  expect(result._tag).toBe("Success")
  if (result._tag === "Success") expect(result.success.account).not.toBe(MAIN)
})

test("WebSocket closed mid-message (before output): falls back or fails clearly, never two answers", async () => {
  await using t = await setup({ CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1" })
  sim.script(t.main.accountId, { fault: { kind: "ws_close", code: 1011, reason: "going away" } })
  const result = await t.send("ses_wsclose")
  const requests = t.codexRequests("ses_wsclose")
  expect(requests.filter((r) => r.accountId === t.main.accountId).length).toBeLessThanOrEqual(2)
  if (result._tag === "Success") {
    const out = await drain(result.success.response.body)
    expect(out.completed).toBe(1)
    held.push(
      `ws close 1011 before output -> served by ${result.success.account === MAIN ? "main (new socket)" : "fallback"}, ${requests.length} requests, 1 completion`,
    )
  } else {
    expect(result.failure.message.length).toBeGreaterThan(0)
    held.push(`ws close 1011 before output -> ${result.failure._tag}`)
  }
})

/** a Codex endpoint that emits a tool call and then `response.failed`: the after-output case */
test("response.failed after a tool call was emitted: never replayed, the tool call appears once", async () => {
  let hits = 0
  const sse = (type: string, data: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => {
      hits++
      const body =
        sse("response.created", { response: { id: "resp_x", status: "in_progress" } }) +
        sse("response.output_item.added", {
          output_index: 0,
          item: { id: "fc_1", type: "function_call", call_id: "call_1", name: "read", arguments: "" },
        }) +
        sse("response.function_call_arguments.delta", { output_index: 0, item_id: "fc_1", delta: '{"path":"a"}' }) +
        sse("response.output_item.done", {
          output_index: 0,
          item: { id: "fc_1", type: "function_call", call_id: "call_1", name: "read", arguments: '{"path":"a"}' },
        }) +
        sse("response.failed", {
          response: { id: "resp_x", status: "failed", error: { code: "server_error", message: "boom" } },
        })
      return new Response(body, { headers: { "content-type": "text/event-stream" } })
    },
  })
  try {
    await using t = await setup()
    const result = await t.send("ses_tool", {
      ...t.settings,
      codexApiEndpoint: `http://127.0.0.1:${server.port}/backend-api/codex/responses`,
    })
    if (result._tag !== "Success") throw new Error(`expected the stream to be handed over: ${result.failure.message}`)
    const out = await drain(result.success.response.body)
    expect(hits).toBe(1)
    expect(result.success.attempts.map((a) => a.outcome)).toEqual(["served"])
    expect(out.toolCalls).toBe(2) // added + done of the one call, once
    expect(out.text).toContain("response.failed")
    held.push("http response.failed after a tool call -> 1 request, tool call delivered once, failure passed through")
  } finally {
    await server.stop(true)
  }
})

test("clock jumps around token expiry and exhausted-until: one refresh per real expiry, the gate follows the clock", async () => {
  await using t = await setup()
  const t0 = Date.now()
  t.host.tokens = hostTokens(t.main, t0 + 3_600_000)
  const refreshesOf = (id: string) => sim.refreshes.filter((r) => r.accountId === id).length
  const log: Array<string> = []
  const program = Effect.gen(function* () {
    const client = yield* RoutedClient
    const turn = (session: string) =>
      client.send(hostRequest(session), { settings: t.settings }).pipe(
        Effect.tap((r) => Effect.promise(() => readAll(r.response.body))),
        Effect.map((r) => r.account),
      )
    yield* TestClock.setTime(t0)
    expect(yield* turn("ses_clock_1")).toBe(MAIN)
    expect(refreshesOf(t.main.accountId)).toBe(0)
    // forward past expiry: exactly one refresh
    yield* TestClock.setTime(t0 + 2 * 3_600_000)
    expect(yield* turn("ses_clock_2")).toBe(MAIN)
    expect(refreshesOf(t.main.accountId)).toBe(1)
    // backwards: the fresh token still counts as valid, no refresh, no logout
    yield* TestClock.setTime(t0 - 3_600_000)
    expect(yield* turn("ses_clock_3")).toBe(MAIN)
    expect(refreshesOf(t.main.accountId)).toBe(1)
    log.push("expiry: +2h -> 1 refresh, -1h -> 0 refreshes")
    // usage limit: main gated until its reset, whatever small jumps happen before it
    yield* TestClock.setTime(t0)
    sim.script(t.main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 600 } })
    expect(yield* turn("ses_clock_4")).not.toBe(MAIN)
    yield* TestClock.setTime(t0 - 86_400_000)
    expect(yield* turn("ses_clock_5")).not.toBe(MAIN)
    yield* TestClock.setTime(t0 + 601_000)
    expect(yield* turn("ses_clock_6")).toBe(MAIN)
    log.push("exhausted-until (+600 s): -1 day -> still gated, +601 s -> main again")
  })
  await t.runtime.runPromise(program.pipe(Effect.provide(TestClock.layer())))
  held.push(`clock jumps: ${log.join("; ")}`)
})
