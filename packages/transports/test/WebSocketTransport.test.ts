import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test"
import { SseParser } from "@cortexkit/openai-auth-core/Sse"
import { userMessage } from "@cortexkit/openai-auth-testkit/SimClient"
import { type SimAccount, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Exit, Scope } from "effect"
import { ConnectFailure, PreOutputFailure, type TransportShape } from "../src/Transport.ts"
import {
  makeWebSocketTransport,
  RESPONSES_WEBSOCKETS_BETA,
  type WebSocketTransportOptions,
} from "../src/WebSocketTransport.ts"
import { nativeConnector, type WsConnector } from "../src/WsConnection.ts"
import type { WsPoolShape } from "../src/WsPool.ts"
import { readAll, recorder, simRequest, text } from "./HttpTransportFixtures.ts"

let sim: SimulatorHandle
let acct: SimAccount
const scopes: Array<Scope.Closeable> = []

beforeAll(async () => {
  sim = await startSimulator()
  acct = sim.addAccount({ accountId: "acct_ws", plan: "pro" })
})
afterEach(async () => {
  for (const scope of scopes.splice(0)) await Effect.runPromise(Scope.close(scope, Exit.void))
})
afterAll(() => sim.stop())

/** Counts connections and records every frame the server sent. */
const tapConnector = (inner: WsConnector = nativeConnector) => {
  const frames: Array<string> = []
  let opened = 0
  const connector: WsConnector = (url, headers) =>
    Effect.map(inner(url, headers), (conn) => {
      opened++
      conn.onMessage((t) => frames.push(t))
      return conn
    })
  return { connector, frames, opened: () => opened }
}

const make = async (
  options: WebSocketTransportOptions = {},
): Promise<{ transport: TransportShape; pool: WsPoolShape }> => {
  const scope = Effect.runSync(Scope.make())
  scopes.push(scope)
  return Effect.runPromise(Scope.provide(scope)(makeWebSocketTransport(options)))
}

const send = (
  transport: TransportShape,
  request: Parameters<TransportShape["send"]>[0],
  listener = recorder().listener,
) => Effect.runPromise(transport.send(request, listener))

const fail = (transport: TransportShape, request: Parameters<TransportShape["send"]>[0]) =>
  Effect.runPromise(Effect.flip(transport.send(request, () => {})))

const lastWs = () => sim.requests.filter((r) => r.transport === "ws").at(-1)

describe("WebSocketTransport", () => {
  test("the reply re-encoded as SSE parses with the core parser to the very frames the server sent", async () => {
    const tap = tapConnector()
    const { transport } = await make({ connector: tap.connector })
    const { events, listener } = recorder()
    const response = await send(transport, simRequest(sim, acct, { prompt_cache_key: "ws-parse" }), listener)
    expect(response.transport).toBe("websocket")
    expect(response.status).toBe(200)
    const messages = new SseParser().push(await readAll(response.body))
    const sent = tap.frames.filter((f) => JSON.parse(f).type !== "codex.rate_limits")
    expect(messages.map((m) => m.data)).toEqual(sent)
    expect(messages.map((m) => m.event)).toEqual(sent.map((f) => JSON.parse(f).type))
    expect(messages.at(-1)?.event).toBe("response.completed")
    // the rate-limit frame is consumed as a Quota event, never forwarded
    expect(tap.frames.some((f) => JSON.parse(f).type === "codex.rate_limits")).toBe(true)
    expect(events.some((e) => e._tag === "Quota")).toBe(true)
    expect(events.filter((e) => e._tag === "Terminal")).toEqual([{ _tag: "Terminal", outcome: "completed" }])
  })

  test("handshake carries the beta header and no content headers; the frame is response.create without background", async () => {
    const { transport } = await make()
    const response = await send(transport, simRequest(sim, acct, { prompt_cache_key: "ws-hs", background: false }))
    await readAll(response.body)
    const record = lastWs()
    expect(record?.headers["openai-beta"]).toBe(RESPONSES_WEBSOCKETS_BETA)
    expect(record?.headers["content-type"]).toBeUndefined()
    expect(record?.headers.accept).toBeUndefined()
    expect(record?.headers.authorization).toBe(`Bearer ${acct.tokens.access}`)
    const body = record?.body as Record<string, unknown>
    expect(body.type).toBe("response.create")
    expect("background" in body).toBe(false)
    expect(body.stream).toBe(true)
  })

  test("a rate-limit frame becomes a Quota event with the simulator's numbers", async () => {
    sim.setQuota(acct.accountId, { primaryUsedPercent: 77, secondaryUsedPercent: 5 })
    const { transport } = await make()
    const { events, listener } = recorder()
    await readAll((await send(transport, simRequest(sim, acct, { prompt_cache_key: "ws-q" }), listener)).body)
    const quota = events.find((e) => e._tag === "Quota")
    expect(quota?._tag === "Quota" && quota.snapshot.fiveHour?.usedPercent).toBe(77)
    expect(quota?._tag === "Quota" && quota.snapshot.source).toBe("frame")
  })

  test("pre-output response.failed -> PreOutputFailure; the socket is retired", async () => {
    const { transport, pool } = await make()
    sim.script(acct.accountId, { fault: { kind: "failed_before_output", code: "server_is_overloaded" } })
    const error = (await fail(transport, simRequest(sim, acct, { prompt_cache_key: "ws-failed" }))) as PreOutputFailure
    expect(error).toBeInstanceOf(PreOutputFailure)
    expect(error.failure._tag).toBe("Transient")
    expect(pool.size()).toBe(0)
  })

  test("an error frame (usage limit) before output -> PreOutputFailure(UsageLimit) with quota", async () => {
    const { transport } = await make()
    sim.script(acct.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 900 } })
    const error = (await fail(transport, simRequest(sim, acct, { prompt_cache_key: "ws-429" }))) as PreOutputFailure
    expect(error.failure._tag).toBe("UsageLimit")
    expect(error.quota).toBeDefined()
  })

  test("a socket killed mid-message -> the body fails and Terminal dropped", async () => {
    const { transport } = await make()
    sim.script(acct.accountId, { fault: { kind: "drop_mid_stream", afterDeltas: 1 } })
    const { events, listener } = recorder()
    const response = await send(transport, simRequest(sim, acct, { prompt_cache_key: "ws-drop" }), listener)
    await expect(readAll(response.body)).rejects.toThrow(/closed mid-response/)
    expect(events.at(-1)).toMatchObject({ _tag: "Terminal", outcome: "dropped" })
  })

  test("a socket closed before output falls back to HTTP; without the fallback it is a PreOutputFailure", async () => {
    const { transport } = await make()
    sim.script(acct.accountId, { fault: { kind: "ws_close", code: 1011 } })
    const response = await send(transport, simRequest(sim, acct, { prompt_cache_key: "ws-close" }))
    expect(response.transport).toBe("http")
    expect(text(await readAll(response.body))).toContain("response.completed")

    const strict = await make({ fallbackToHttp: false })
    sim.script(acct.accountId, { fault: { kind: "ws_close", code: 1011 } })
    const error = (await fail(
      strict.transport,
      simRequest(sim, acct, { prompt_cache_key: "ws-close2" }),
    )) as PreOutputFailure
    expect(error.failure._tag).toBe("Transient")
  })

  test("a refused upgrade falls back to HTTP", async () => {
    const refusing: WsConnector = () => Effect.fail(new ConnectFailure({ message: "426 Upgrade Required" }))
    const { transport } = await make({ connector: refusing })
    const before = sim.requests.length
    const response = await send(transport, simRequest(sim, acct, { prompt_cache_key: "ws-refused" }))
    expect(response.transport).toBe("http")
    await readAll(response.body)
    expect(sim.requests.slice(before).map((r) => r.transport)).toEqual(["http"])
  })

  test("a refused upgrade on the real socket (bad token) falls back to HTTP and classifies its 401", async () => {
    const { transport } = await make()
    const bad = { ...acct, tokens: { ...acct.tokens, access: "nope" } }
    const error = (await fail(transport, simRequest(sim, bad, { prompt_cache_key: "ws-401" }))) as PreOutputFailure
    expect(error.failure._tag).toBe("AuthFailure")
    expect(sim.requests.slice(-2).map((r) => [r.transport, r.status])).toEqual([
      ["ws", 401],
      ["http", 401],
    ])
  })

  test("websocket_connection_limit_reached -> one retry on a fresh socket with the full input", async () => {
    const tap = tapConnector()
    const { transport } = await make({ connector: tap.connector })
    sim.script(acct.accountId, { fault: { kind: "ws_connection_limit" } })
    const response = await send(transport, simRequest(sim, acct, { prompt_cache_key: "ws-limit" }))
    expect(response.transport).toBe("websocket")
    expect(text(await readAll(response.body))).toContain("response.completed")
    expect(tap.opened()).toBe(2)
  })

  test("a busy socket sends the concurrent request over HTTP", async () => {
    const { transport } = await make()
    sim.script(acct.accountId, { reply: { text: "slow", deltas: 2000 } })
    const first = await send(transport, simRequest(sim, acct, { prompt_cache_key: "ws-busy" }))
    const second = await send(transport, simRequest(sim, acct, { prompt_cache_key: "ws-busy" }))
    expect(first.transport).toBe("websocket")
    expect(second.transport).toBe("http")
    await Promise.all([readAll(first.body), readAll(second.body)])
  })
})

describe("WebSocketTransport chaining", () => {
  const outputItems = (body: Uint8Array) =>
    new SseParser()
      .push(body)
      .filter((m) => m.event === "response.output_item.done")
      .map((m) => {
        const { id: _id, ...item } = (JSON.parse(m.data) as { item: Record<string, unknown> }).item
        return item
      })

  test("a follow-up sends only the new items with previous_response_id; cached tokens match the simulator", async () => {
    const tap = tapConnector()
    const { transport } = await make({ connector: tap.connector })
    const first = [userMessage("first question")]
    const r1 = await send(transport, simRequest(sim, acct, { prompt_cache_key: "chain-1", input: first }))
    const produced = outputItems(await readAll(r1.body))
    expect(produced.length).toBeGreaterThan(0)
    const id1 = lastWs()?.responseId

    const second = [...first, ...produced, userMessage("second question")]
    const { events, listener } = recorder()
    const r2 = await send(transport, simRequest(sim, acct, { prompt_cache_key: "chain-1", input: second }), listener)
    await readAll(r2.body)
    const record = lastWs()
    const body = record?.body as Record<string, unknown>
    expect(body.previous_response_id).toBe(id1)
    expect(body.input).toEqual([userMessage("second question")])
    expect(tap.opened()).toBe(1)
    const usage = events.find((e) => e._tag === "Usage")
    const simCached = record?.usage?.input_tokens_details.cached_tokens
    expect(usage?._tag === "Usage" ? usage.usage.cachedTokens : -1).toBe(simCached ?? -2)
    expect(record?.usage?.input_tokens_details.cached_tokens ?? 0).toBeGreaterThan(0)
  })

  test("a changed non-input field sends the full request", async () => {
    const { transport } = await make()
    const first = [userMessage("q")]
    const r1 = await send(transport, simRequest(sim, acct, { prompt_cache_key: "chain-2", input: first }))
    const produced = outputItems(await readAll(r1.body))
    const r2 = await send(
      transport,
      simRequest(sim, acct, {
        prompt_cache_key: "chain-2",
        instructions: "Different now.",
        input: [...first, ...produced, userMessage("q2")],
      }),
    )
    await readAll(r2.body)
    const body = lastWs()?.body as Record<string, unknown>
    expect(body.previous_response_id).toBeUndefined()
    expect((body.input as Array<unknown>).length).toBe(2 + produced.length)
  })

  test("previous_response_not_found -> the socket is dropped and the full input resent once", async () => {
    const tap = tapConnector()
    const { transport, pool } = await make({ connector: tap.connector })
    const first = [userMessage("q")]
    const r1 = await send(transport, simRequest(sim, acct, { prompt_cache_key: "chain-3", input: first }))
    const produced = outputItems(await readAll(r1.body))
    const socket = pool.sockets()[0]
    if (socket?.chain === undefined) throw new Error("expected a chain")
    socket.chain = { ...socket.chain, responseId: "resp_gone" }
    const before = sim.requests.length
    const input = [...first, ...produced, userMessage("q2")]
    const r2 = await send(transport, simRequest(sim, acct, { prompt_cache_key: "chain-3", input }))
    expect(text(await readAll(r2.body))).toContain("response.completed")
    const sent = sim.requests.slice(before).map((r) => r.body as Record<string, unknown>)
    expect(sent.map((b) => b.previous_response_id)).toEqual(["resp_gone", undefined])
    expect(sent[1]?.input).toHaveLength(input.length)
    expect(tap.opened()).toBe(2)
  })
})
