import { describe, expect, test } from "bun:test"
import { encodeSse } from "@cortexkit/openai-auth-core/Sse"
import { SseBodyObserver } from "@cortexkit/openai-auth-core/SseObserver"
import type { StreamEvent } from "@cortexkit/openai-auth-core/StreamEvent"
import { concatBytes, splitAt } from "@cortexkit/openai-auth-testkit/Bytes"
import { it } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Fiber } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { observeSse } from "../../core/test/support/observeSse.ts"
import { currentAlarms } from "../src/Alarms.ts"
import { type CommitOptions, CommitPoint } from "../src/CommitPoint.ts"
import { PushSource } from "../src/PushSource.ts"
import { PreOutputFailure } from "../src/Transport.ts"
import { crossDeadline, makeSleepProbe, withProbe } from "./support/SleepProbe.ts"

const NOW = 1_780_000_000_000
const options: CommitOptions = {
  transport: "http",
  status: 200,
  headers: {},
  alarms: Effect.runSync(currentAlarms),
  firstByteTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
}
const usage = { input_tokens: 10, output_tokens: 5, total_tokens: 15 }
const ev = (type: string, body: Record<string, unknown> = {}) => encodeSse(type, JSON.stringify({ type, ...body }))

/** chunks handed out one read at a time, like a fetch body */
const source = (chunks: ReadonlyArray<Uint8Array>, fail = false) => {
  let index = 0
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const chunk = chunks[index++]
        if (chunk !== undefined) controller.enqueue(chunk)
        else if (fail) controller.error(new Error("socket hang up"))
        else controller.close()
      },
    },
    { highWaterMark: 0 },
  )
}

/** the reference: the same chunks through `observeSse` as a TransformStream of its own */
const viaTransform = async (chunks: ReadonlyArray<Uint8Array>, fail = false): Promise<Array<StreamEvent>> => {
  const events: Array<StreamEvent> = []
  try {
    for await (const _ of source(chunks, fail).pipeThrough(observeSse((e) => events.push(e), { now: () => NOW })));
  } catch {
    // the events are what is compared
  }
  return events
}

/** the HTTP transport's arrangement: the commit point reads the source and calls the observer inline */
const viaCommit = async (chunks: ReadonlyArray<Uint8Array>, fail = false) => {
  const events: Array<StreamEvent> = []
  const commit = new CommitPoint((e) => events.push(e))
  const observer = new SseBodyObserver(commit.listener, { now: () => NOW })
  const out: Array<Uint8Array> = []
  let refused: PreOutputFailure | undefined
  let failed = false
  try {
    const response = await Effect.runPromise(commit.run(source(chunks, fail), options, observer))
    const reader = response.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      out.push(value)
    }
  } catch (error) {
    if (error instanceof PreOutputFailure) refused = error
    else failed = true
  }
  return { events, out, refused, failed }
}

const delta = (text: string) => ev("response.output_text.delta", { delta: text })
const created = ev("response.created", { response: { id: "resp_1" } })
const completed = ev("response.completed", { response: { id: "resp_1", output: [{ text: "x".repeat(5000) }], usage } })
const EMPTY = new Uint8Array(0)
const ENDS: Record<string, Uint8Array> = {
  completed,
  failed: ev("response.failed", { response: { id: "resp_1", error: { code: "server_error", message: "boom" } } }),
  error: ev("error", { code: "server_is_overloaded", message: "busy" }),
  none: EMPTY,
}

describe("CommitPoint with the SSE observer inline", () => {
  test("property: the very chunks, in order, and the same events as observeSse, however the stream is cut", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: 60 }),
        fc.constantFrom(...Object.keys(ENDS)),
        fc.boolean(),
        fc.array(fc.nat(), { maxLength: 30 }),
        async (deltas, end, fail, cuts) => {
          const all = concatBytes([
            created,
            ...Array.from({ length: deltas }, (_, i) => delta(`w${i} `)),
            ENDS[end] ?? EMPTY,
          ])
          const chunks = splitAt(all, cuts)
          const got = await viaCommit(chunks, fail)
          expect(got.events).toEqual(await viaTransform(chunks, fail))
          expect(got.events.filter((e) => e._tag === "Terminal")).toHaveLength(1)
          // refused before output: nothing reached the caller; otherwise the very chunks, in order (a prefix
          // of them when the source failed after the commit)
          if (got.refused !== undefined) expect(got.out).toHaveLength(0)
          else if (!got.failed) expect(got.out.length).toBe(chunks.length)
          for (const [i, c] of got.out.entries()) expect(c).toBe(chunks[i] as Uint8Array)
          if (deltas > 0) expect(got.refused).toBeUndefined()
        },
      ),
      { numRuns: 300 },
    )
  })

  test("the last read is not held up by the terminal parse; the terminal events follow in the same turn", async () => {
    const chunks = [created, delta("a"), delta("b"), completed]
    const events: Array<StreamEvent> = []
    const commit = new CommitPoint((e) => events.push(e))
    const response = await Effect.runPromise(commit.run(source(chunks), options, new SseBodyObserver(commit.listener)))
    const reader = response.body.getReader()
    let read = await reader.read()
    while (!read.done) read = await reader.read()
    expect(events.map((e) => e._tag)).toEqual(["ResponseId", "FirstOutput"])
    await Promise.resolve()
    expect(events.map((e) => e._tag)).toEqual(["ResponseId", "FirstOutput", "Usage", "Terminal"])
  })

  test("a consumer cancel after the commit ends the observer at once: dropped, reported once", async () => {
    const events: Array<StreamEvent> = []
    const commit = new CommitPoint((e) => events.push(e))
    const response = await Effect.runPromise(
      commit.run(source([created, delta("a"), delta("b")]), options, new SseBodyObserver(commit.listener)),
    )
    const reader = response.body.getReader()
    await reader.read()
    await reader.cancel()
    expect(events.filter((e) => e._tag === "Terminal")).toEqual([
      expect.objectContaining({ _tag: "Terminal", outcome: "dropped" }),
    ])
  })
})

describe("CommitPoint deadlines on the Effect Clock", () => {
  const timed = {
    transport: "http",
    status: 200,
    headers: {},
    firstByteTimeoutMs: 60_000,
    idleTimeoutMs: 10_000,
  } as const

  /** An attempt over a source the test feeds, its alarms on a probed clock, forked. */
  const attempt = (observed = true) =>
    Effect.gen(function* () {
      const probe = yield* makeSleepProbe
      let cancelled = false
      const source = new PushSource(() => {
        cancelled = true
      })
      const events: Array<StreamEvent> = []
      const commit = new CommitPoint((e) => events.push(e))
      const alarms = yield* withProbe(probe)(currentAlarms)
      const observer = observed ? new SseBodyObserver(commit.listener) : undefined
      const fiber = yield* Effect.forkChild(commit.run(source.stream, { ...timed, alarms }, observer), {
        startImmediately: true,
      })
      return { probe, source, events, fiber, cancelled: () => cancelled }
    })

  it.effect("no chunk within the first-byte budget: TransportTimeout(first-byte), the source cancelled", () =>
    Effect.gen(function* () {
      const { probe, events, fiber, cancelled } = yield* attempt()
      yield* crossDeadline(probe, 60_000, fiber)
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "TransportTimeout", phase: "first-byte", afterMs: 60_000 })
      expect(cancelled()).toBe(true)
      expect(events.filter((e) => e._tag === "Terminal")).toHaveLength(1)
    }),
  )

  it.effect("silence after a pre-output event: TransportTimeout(idle) before the commit", () =>
    Effect.gen(function* () {
      const { probe, source, fiber } = yield* attempt()
      yield* probe.sleeping(60_000)
      source.push(created)
      // the idle limit is shorter than what is left of the first-byte budget: the alarm moves to it
      yield* probe.sleeping(10_000)
      yield* TestClock.adjust(10_000)
      const error = yield* Effect.flip(Fiber.join(fiber))
      expect(error).toMatchObject({ _tag: "TransportTimeout", phase: "idle", afterMs: 10_000 })
    }),
  )

  it.effect("after the commit: a pending read silent for the idle limit errors the body, Terminal dropped", () =>
    Effect.gen(function* () {
      const { probe, source, events, fiber, cancelled } = yield* attempt()
      source.push(concatBytes([created, delta("a")]))
      const response = yield* Fiber.join(fiber)
      const reader = response.body.getReader()
      yield* Effect.promise(() => reader.read())
      // a consumer that does not read is never timed out: a whole hour passes between reads
      yield* TestClock.adjust(3_600_000)
      const pending = reader.read().then(
        () => undefined,
        (e: unknown) => e,
      )
      yield* probe.sleeping(10_000)
      yield* TestClock.adjust(10_000)
      const error = yield* Effect.promise(() => pending)
      expect(error).toMatchObject({ _tag: "TransportTimeout", phase: "idle" })
      expect(cancelled()).toBe(true)
      expect(events.filter((e) => e._tag === "Terminal")).toEqual([
        expect.objectContaining({ _tag: "Terminal", outcome: "dropped" }),
      ])
    }),
  )

  it.effect("interrupting the attempt before the commit cancels the source", () =>
    Effect.gen(function* () {
      const { probe, fiber, cancelled } = yield* attempt(false)
      yield* probe.sleeping(60_000)
      yield* Fiber.interrupt(fiber)
      expect(cancelled()).toBe(true)
    }),
  )
})
