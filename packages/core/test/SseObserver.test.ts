import { describe, expect, test } from "bun:test"
import { encodeSse } from "@cortexkit/openai-auth-core/Sse"
import { StreamObserver } from "@cortexkit/openai-auth-core/SseObserver"
import type { StreamEvent } from "@cortexkit/openai-auth-core/StreamEvent"
import { observeSse } from "./support/observeSse.ts"

const NOW = 1_780_000_000_000
const ev = (type: string, body: Record<string, unknown> = {}) => encodeSse(type, JSON.stringify({ type, ...body }))

const usage = {
  input_tokens: 100,
  input_tokens_details: { cached_tokens: 64 },
  output_tokens: 20,
  output_tokens_details: { reasoning_tokens: 5 },
  total_tokens: 120,
}

const textStream = (): Array<Uint8Array> => [
  ev("response.created", { response: { id: "resp_1", status: "in_progress" } }),
  ev("response.in_progress", { response: { id: "resp_1" } }),
  ev("response.output_item.added", { item: { type: "reasoning", summary: [] } }),
  ev("response.output_item.added", { item: { type: "message", content: [] } }),
  ev("response.output_text.delta", { delta: "Hel" }),
  ev("response.output_text.delta", { delta: "lo" }),
  ev("response.output_item.done", { item: { type: "message", content: [{ type: "output_text", text: "Hello" }] } }),
  ev("response.completed", { response: { id: "resp_1", status: "completed", usage } }),
]

/** Pipes `chunks` through an observer; returns the chunks that came out and the events seen. */
const run = async (chunks: ReadonlyArray<Uint8Array>, listener?: (e: StreamEvent) => void, error?: Error) => {
  const events: Array<StreamEvent> = []
  const source = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const c of chunks) controller.enqueue(c)
      if (error) controller.error(error)
      else controller.close()
    },
  })
  const out: Array<Uint8Array> = []
  let failed: unknown
  try {
    for await (const c of source.pipeThrough(
      observeSse(
        (e) => {
          events.push(e)
          listener?.(e)
        },
        { now: () => NOW },
      ),
    ))
      out.push(c)
  } catch (e) {
    failed = e
  }
  return { out, events, failed }
}

const tags = (events: ReadonlyArray<StreamEvent>) => events.map((e) => e._tag)

describe("observeSse", () => {
  test("passes the very same chunk objects through, in order, and reports each event once", async () => {
    const whole = textStream()
    // re-chunk at odd boundaries so events straddle chunks
    const all = new Uint8Array(whole.reduce((n, c) => n + c.length, 0))
    let o = 0
    for (const c of whole) {
      all.set(c, o)
      o += c.length
    }
    const chunks: Array<Uint8Array> = []
    for (let i = 0; i < all.length; i += 37) chunks.push(all.slice(i, i + 37))
    const { out, events } = await run(chunks)
    expect(out.length).toBe(chunks.length)
    for (const [i, c] of out.entries()) expect(c).toBe(chunks[i] as Uint8Array)
    expect(tags(events)).toEqual(["ResponseId", "FirstOutput", "Usage", "Terminal"])
    expect(events[0]).toEqual({ _tag: "ResponseId", id: "resp_1" })
    expect(events[1]).toEqual({ _tag: "FirstOutput", eventType: "response.output_text.delta" })
    const u = events[2]
    expect(u?._tag === "Usage" && { ...u.usage }).toEqual({
      inputTokens: 100,
      cachedTokens: 64,
      outputTokens: 20,
      reasoningTokens: 5,
      totalTokens: 120,
    })
    expect(events[3]).toEqual({ _tag: "Terminal", outcome: "completed" })
  })

  test("a partial chunk is forwarded at once (no buffering)", async () => {
    const ts = observeSse(() => {})
    const writer = ts.writable.getWriter()
    const reader = ts.readable.getReader()
    const chunk = ev("response.created", { response: { id: "r" } }).subarray(0, 10)
    void writer.write(chunk)
    const read = await reader.read()
    expect(read.value).toBe(chunk)
    void writer.close()
  })

  test("tool calls count as first output when added", async () => {
    const { events } = await run([
      ev("response.created", { response: { id: "r2" } }),
      ev("response.output_item.added", { item: { type: "function_call", name: "read", call_id: "c1" } }),
      ev("response.function_call_arguments.delta", { delta: "{}" }),
      ev("response.incomplete", { response: { id: "r2", incomplete_details: { reason: "max_output_tokens" }, usage } }),
    ])
    expect(events[1]).toEqual({ _tag: "FirstOutput", eventType: "response.output_item.added" })
    expect(events.at(-1)).toEqual({ _tag: "Terminal", outcome: "incomplete" })
    expect(tags(events).filter((t) => t === "FirstOutput").length).toBe(1)
  })

  test("response.failed before any output: classified failure, no FirstOutput", async () => {
    const { events } = await run([
      ev("response.created", { response: { id: "r3" } }),
      ev("response.failed", {
        response: {
          id: "r3",
          status: "failed",
          error: { code: "usage_limit_reached", message: "spent", resets_at: NOW / 1000 + 60 },
        },
      }),
      ev("response.output_text.delta", { delta: "late" }),
    ])
    expect(tags(events)).toEqual(["ResponseId", "Terminal"])
    const t = events[1]
    expect(t?._tag === "Terminal" && t.outcome).toBe("failed")
    expect(t?._tag === "Terminal" && t.failure?._tag).toBe("UsageLimit")
    expect(t?._tag === "Terminal" && t.failure?._tag === "UsageLimit" && t.failure.resetsAt).toBe(NOW + 60_000)
  })

  test("a top-level error event", async () => {
    const { events } = await run([ev("error", { code: "server_is_overloaded", message: "busy" })])
    const t = events[0]
    expect(t?._tag === "Terminal" && [t.outcome, t.failure?._tag]).toEqual(["error", "Transient"])
  })

  test("a codex.rate_limits event becomes a Quota reading", async () => {
    const { events } = await run([
      ev("codex.rate_limits", {
        plan_type: "plus",
        rate_limits: { primary: { used_percent: 25, window_minutes: 300, reset_at: NOW / 1000 + 10 } },
      }),
      ...textStream(),
    ])
    const q = events[0]
    expect(q?._tag).toBe("Quota")
    expect(q?._tag === "Quota" && q.snapshot.fiveHour?.usedPercent).toBe(25)
    expect(q?._tag === "Quota" && q.snapshot.observedAt).toBe(NOW)
  })

  test("a stream that ends without a terminal event is dropped, exactly once", async () => {
    const { events } = await run(textStream().slice(0, 5))
    expect(tags(events)).toEqual(["ResponseId", "FirstOutput", "Terminal"])
    const t = events[2]
    expect(t?._tag === "Terminal" && [t.outcome, t.failure?._tag, t.failure?.message]).toEqual([
      "dropped",
      "Transient",
      "stream closed before response.completed",
    ])
  })

  test("an upstream error is dropped too, and still reaches the reader", async () => {
    const { events, failed } = await run(textStream().slice(0, 2), undefined, new Error("socket hang up"))
    expect(failed).toBeInstanceOf(Error)
    expect(events.at(-1)).toMatchObject({ _tag: "Terminal", outcome: "dropped" })
  })

  test("a throwing listener does not break the stream", async () => {
    const chunks = textStream()
    const { out, events, failed } = await run(chunks, () => {
      throw new Error("listener bug")
    })
    expect(failed).toBeUndefined()
    expect(out.length).toBe(chunks.length)
    expect(tags(events)).toEqual(["ResponseId", "FirstOutput", "Usage", "Terminal"])
  })

  test("non-JSON data, [DONE] and a missing event name are tolerated", async () => {
    const enc = new TextEncoder()
    const { events } = await run([
      enc.encode("data: not json\n\n"),
      enc.encode(`data: ${JSON.stringify({ type: "response.created", response: { id: "r9" } })}\n\n`),
      enc.encode(`data: ${JSON.stringify({ type: "response.completed", response: { id: "r9" } })}\n\n`),
      enc.encode("data: [DONE]\n\n"),
    ])
    expect(events).toEqual([
      { _tag: "ResponseId", id: "r9" },
      { _tag: "Terminal", outcome: "completed" },
    ])
  })
})

describe("observeSse after the first output (tail mode)", () => {
  const deltas = (n: number, eol = "\n") => {
    const one = `event: response.output_text.delta${eol}data: {"type":"response.output_text.delta","delta":"word error\\" complete"}${eol}${eol}`
    return new TextEncoder().encode(one.repeat(n))
  }
  const head = () => [
    ev("response.created", { response: { id: "r" } }),
    ev("response.output_text.delta", { delta: "a" }),
  ]
  const pull = async (chunks: ReadonlyArray<Uint8Array>, options: { tailBytes?: number; fail?: boolean } = {}) => {
    const events: Array<StreamEvent> = []
    let index = 0
    const source = new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          const chunk = chunks[index++]
          if (chunk !== undefined) controller.enqueue(chunk)
          else if (options.fail === true) controller.error(new Error("reset"))
          else controller.close()
        },
      },
      { highWaterMark: 0 },
    )
    const ts = observeSse((e) => events.push(e), {
      now: () => NOW,
      ...(options.tailBytes === undefined ? {} : { tailBytes: options.tailBytes }),
    })
    try {
      for await (const _ of source.pipeThrough(ts));
    } catch {
      // the upstream error reaches the reader; the events are what is checked
    }
    return events
  }

  test("keeps at most about tailBytes: a small terminal event after megabytes is still found", async () => {
    const events = await pull(
      [
        ...head(),
        ...Array.from({ length: 40 }, () => deltas(1000)),
        ev("response.completed", { response: { id: "r", usage } }),
      ],
      { tailBytes: 64 * 1024 },
    )
    expect(tags(events)).toEqual(["ResponseId", "FirstOutput", "Usage", "Terminal"])
    expect(events.at(-1)).toEqual({ _tag: "Terminal", outcome: "completed" })
  })

  test("a terminal event larger than tailBytes is reported as dropped, with a clear message", async () => {
    const huge = ev("response.completed", { response: { id: "r", output: [{ text: "x".repeat(300_000) }], usage } })
    const chunks = [...head(), deltas(10)]
    for (let i = 0; i < huge.length; i += 4096) chunks.push(huge.subarray(i, i + 4096))
    const events = await pull(chunks, { tailBytes: 64 * 1024 })
    const t = events.at(-1)
    expect(t?._tag === "Terminal" && t.outcome).toBe("dropped")
    expect(t?._tag === "Terminal" && t.failure?.message).toContain("exceeds the 65536 bytes kept")
  })

  test("[DONE], comments and blank lines after the terminal event, CRLF, are stepped over", async () => {
    const enc = new TextEncoder()
    const completed = `event: response.completed\r\ndata: ${JSON.stringify({ type: "response.completed", response: { id: "r", usage } })}\r\n\r\n`
    const events = await pull([
      ...head(),
      deltas(50, "\r\n"),
      enc.encode(`${completed}: bye\r\n\r\ndata: [DONE]\r\n\r\n\r\n`),
    ])
    expect(tags(events)).toEqual(["ResponseId", "FirstOutput", "Usage", "Terminal"])
    expect(events.at(-1)).toEqual({ _tag: "Terminal", outcome: "completed" })
  })

  test("an upstream error after a complete terminal event still reports it; one cut inside it is dropped", async () => {
    const completed = ev("response.completed", { response: { id: "r", usage } })
    const ok = await pull([...head(), deltas(20), completed], { fail: true })
    expect(ok.at(-1)).toEqual({ _tag: "Terminal", outcome: "completed" })
    const cut = await pull([...head(), deltas(20), completed.subarray(0, completed.length - 2)], { fail: true })
    expect(cut.at(-1)).toMatchObject({ _tag: "Terminal", outcome: "dropped" })
    expect(tags(cut)).toEqual(["ResponseId", "FirstOutput", "Terminal"])
  })

  test("a consumer that detaches a passed chunk cannot make the observer misread: dropped", async () => {
    const events: Array<StreamEvent> = []
    const ts = observeSse((e) => events.push(e), { now: () => NOW })
    const writer = ts.writable.getWriter()
    const reader = ts.readable.getReader()
    for (const c of [...head(), ev("response.completed", { response: { id: "r", usage } })]) {
      void writer.write(c)
      const { value } = await reader.read()
      // a consumer that transfers the buffer it was handed (ArrayBuffer.prototype.transfer)
      if (value !== undefined) (value.buffer as ArrayBuffer).transfer()
    }
    void writer.close()
    await reader.read()
    expect(events.at(-1)).toMatchObject({ _tag: "Terminal", outcome: "dropped" })
  })
})

describe("StreamObserver.event (WebSocket frames)", () => {
  test("shares the logic: state per response, terminal once, error frames classified with their headers", () => {
    const events: Array<StreamEvent> = []
    const state = new StreamObserver((e) => events.push(e), { now: () => NOW })
    state.event({ type: "response.created", response: { id: "ws_1" } })
    state.event({ type: "response.reasoning_summary_text.delta", delta: "think" })
    state.event({
      type: "error",
      status: 429,
      error: { type: "usage_limit_reached", message: "spent" },
      headers: { "x-codex-primary-used-percent": "100", "x-codex-primary-window-minutes": 300 },
    })
    state.event({ type: "response.completed", response: { id: "ws_1" } })
    state.end()
    expect(tags(events)).toEqual(["ResponseId", "FirstOutput", "Quota", "Terminal"])
    expect(events[2]).toMatchObject({ _tag: "Quota", snapshot: { fiveHour: { usedPercent: 100, windowMinutes: 300 } } })
    expect(events[3]).toMatchObject({ _tag: "Terminal", outcome: "error", failure: { _tag: "UsageLimit" } })
  })

  test("two observers keep two responses apart", () => {
    const a: Array<StreamEvent> = []
    const b: Array<StreamEvent> = []
    const first = new StreamObserver((e) => a.push(e))
    const second = new StreamObserver((e) => b.push(e))
    first.event({ type: "response.output_text.delta", delta: "a" })
    second.event({ type: "response.created", response: { id: "y" } })
    first.event({ type: "response.done", response: { id: "x", usage } })
    first.event({ type: "response.completed", response: { id: "x" } })
    expect(tags(a)).toEqual(["FirstOutput", "ResponseId", "Usage", "Terminal"])
    expect(tags(b)).toEqual(["ResponseId"])
  })
})
