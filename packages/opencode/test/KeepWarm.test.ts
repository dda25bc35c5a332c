import { describe, expect } from "bun:test"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { it } from "@cortexkit/openai-auth-testkit/Test"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import {
  KeepWarm,
  type KeepWarmOptions,
  type KeepWarmSettings,
  type TrackInput,
  type WarmEvent,
  type WarmRequest,
  warmBody,
} from "../src/KeepWarm.ts"

const MIN = 60_000
const FIRST = 4.5 * MIN // TTL 5 min - margin 30 s

const body = (sessionKey: string, model = "gpt-5.5"): Record<string, unknown> => ({
  model,
  instructions: "You are a coding agent.",
  tools: [{ type: "function", name: "read", parameters: { type: "object" } }],
  input: [{ role: "user", content: [{ type: "input_text", text: "hello" }] }],
  reasoning: { effort: "high", summary: "auto" },
  text: { verbosity: "medium" },
  store: false,
  stream: true,
  prompt_cache_key: sessionKey,
  max_output_tokens: 1000,
})

const input = (sessionKey: string, extra: Partial<TrackInput> = {}): TrackInput => ({
  sessionKey,
  account: "acct_a",
  subagent: false,
  body: body(sessionKey, extra.model),
  model: "gpt-5.5",
  ...extra,
})

const setup = (
  initial: KeepWarmSettings = { enabled: true, subagents: false },
  options: Partial<KeepWarmOptions> = {},
) =>
  Effect.gen(function* () {
    const sent: Array<WarmRequest> = []
    const lines: Array<string> = []
    const state = { settings: initial, fail: false }
    const keepWarm = yield* KeepWarm.make({
      settings: Effect.sync(() => state.settings),
      warm: (request) =>
        Effect.suspend(() => {
          sent.push(request)
          return state.fail
            ? Effect.fail(new Error("HTTP 401 token_invalid"))
            : Effect.succeed({ usage: { inputTokens: 1000, cachedTokens: 990, outputTokens: 8 } })
        }),
      ...options,
    }).pipe(Effect.provide(Logger.layerCapture((line) => lines.push(line))))
    return { keepWarm, sent, lines, state }
  })

const count = (sent: ReadonlyArray<WarmRequest>, sessionKey: string) =>
  sent.filter((request) => request.sessionKey === sessionKey).length

describe("KeepWarm timing", () => {
  it.effect("warms at TTL - margin, not before, and again while idle", () =>
    Effect.gen(function* () {
      const { keepWarm, sent } = yield* setup()
      yield* keepWarm.track(input("ses_1"))
      yield* TestClock.adjust(FIRST - 1)
      expect(sent).toHaveLength(0)
      yield* TestClock.adjust(1)
      expect(sent).toHaveLength(1)
      expect(sent[0]?.account).toBe("acct_a")
      yield* TestClock.adjust(FIRST - 1)
      expect(sent).toHaveLength(1)
      yield* TestClock.adjust(1)
      expect(sent).toHaveLength(2)
      const status = yield* keepWarm.status
      expect(status.tracked).toEqual([
        { sessionKey: "ses_1", account: "acct_a", subagent: false, lastActivity: 0, nextWarmAt: 3 * FIRST, warms: 2 },
      ])
      expect(status.lastWarm).toEqual({
        at: 2 * FIRST,
        sessionKey: "ses_1",
        usage: { inputTokens: 1000, cachedTokens: 990, outputTokens: 8 },
      })
    }),
  )

  it.effect("real activity resets the timer", () =>
    Effect.gen(function* () {
      const { keepWarm, sent } = yield* setup()
      yield* keepWarm.track(input("ses_1"))
      yield* TestClock.adjust(4 * MIN)
      yield* keepWarm.track(input("ses_1"))
      yield* TestClock.adjust(FIRST - 1)
      expect(sent).toHaveLength(0)
      yield* TestClock.adjust(1)
      expect(sent).toHaveLength(1)
    }),
  )

  it.effect("a main session stops 1 h after its last real activity and resumes on activity", () =>
    Effect.gen(function* () {
      const { keepWarm, sent } = yield* setup()
      yield* keepWarm.track(input("ses_1"))
      yield* TestClock.adjust(3 * 60 * MIN)
      // warms at 4.5, 9, ..., 58.5 min: 13 of them, none after the hour
      expect(sent).toHaveLength(13)
      const stopped = (yield* keepWarm.status).tracked[0]
      expect(stopped?.stopped).toBe("idle")
      expect(stopped?.nextWarmAt).toBeUndefined()
      yield* keepWarm.track(input("ses_1"))
      yield* TestClock.adjust(FIRST)
      expect(sent).toHaveLength(14)
    }),
  )

  it.effect("gpt-5.6 models use the 30 minute TTL", () =>
    Effect.gen(function* () {
      const { keepWarm, sent } = yield* setup()
      yield* keepWarm.track(input("ses_1", { model: "gpt-5.6-terra" }))
      yield* TestClock.adjust(29.5 * MIN - 1)
      expect(sent).toHaveLength(0)
      yield* TestClock.adjust(1)
      expect(sent).toHaveLength(1)
      yield* TestClock.adjust(3 * 60 * MIN)
      // 29.5 and 59 min, then the hour is over
      expect(sent).toHaveLength(2)
    }),
  )

  it.effect("subagent sessions are ignored unless subagent mode is on, and cap at 30 minutes", () =>
    Effect.gen(function* () {
      const { keepWarm, sent, state } = yield* setup()
      yield* keepWarm.track(input("sub_1", { subagent: true }))
      expect((yield* keepWarm.status).tracked).toEqual([])
      yield* TestClock.adjust(60 * MIN)
      expect(sent).toHaveLength(0)

      state.settings = { enabled: true, subagents: true }
      yield* keepWarm.track(input("sub_1", { subagent: true }))
      yield* keepWarm.track(input("ses_1"))
      yield* TestClock.adjust(2 * 60 * MIN)
      // 4.5 .. 27 min for the subagent (6 warms), 4.5 .. 58.5 min for the main session (13)
      expect(count(sent, "sub_1")).toBe(6)
      expect(count(sent, "ses_1")).toBe(13)
    }),
  )

  it.effect("disabled means nothing is tracked or sent; toggling applies live", () =>
    Effect.gen(function* () {
      const { keepWarm, sent, state } = yield* setup({ enabled: false, subagents: false })
      yield* keepWarm.track(input("ses_1"))
      yield* TestClock.adjust(30 * MIN)
      expect(sent).toHaveLength(0)
      expect((yield* keepWarm.status).tracked).toEqual([])

      state.settings = { enabled: true, subagents: false }
      yield* keepWarm.track(input("ses_1"))
      yield* TestClock.adjust(FIRST)
      expect(sent).toHaveLength(1)
      expect((yield* keepWarm.status).enabled).toBe(true)

      state.settings = { enabled: false, subagents: false }
      yield* TestClock.adjust(30 * MIN)
      expect(sent).toHaveLength(1)
      const off = yield* keepWarm.status
      expect(off.enabled).toBe(false)
      expect(off.tracked).toEqual([])

      // switching subagent mode off drops a subagent session at its next tick
      state.settings = { enabled: true, subagents: true }
      yield* keepWarm.track(input("sub_1", { subagent: true }))
      state.settings = { enabled: true, subagents: false }
      yield* TestClock.adjust(FIRST)
      expect(count(sent, "sub_1")).toBe(0)
    }),
  )

  it.effect("a failing warm retries once after a back-off, then stops until real activity", () =>
    Effect.gen(function* () {
      const events: Array<WarmEvent> = []
      const { keepWarm, sent, state, lines } = yield* setup(undefined, {
        onWarm: (event) => Effect.sync(() => events.push(event)),
      })
      state.fail = true
      yield* keepWarm.track(input("ses_1"))
      yield* TestClock.adjust(FIRST)
      expect(sent).toHaveLength(1)
      yield* TestClock.adjust(15_000 - 1)
      expect(sent).toHaveLength(1)
      yield* TestClock.adjust(1)
      expect(sent).toHaveLength(2)
      yield* TestClock.adjust(2 * 60 * MIN)
      expect(sent).toHaveLength(2)
      expect((yield* keepWarm.status).tracked[0]?.stopped).toBe("failed")
      expect(lines.filter((line) => line.includes("keep-warm failed"))).toHaveLength(2)
      expect(events.map((event) => [event.at, event.ok])).toEqual([
        [FIRST, false],
        [FIRST + 15_000, false],
      ])

      state.fail = false
      yield* keepWarm.track(input("ses_1"))
      yield* TestClock.adjust(FIRST)
      expect(sent).toHaveLength(3)
      expect((yield* keepWarm.status).tracked[0]?.stopped).toBeUndefined()
    }),
  )

  it.effect("untrack, the session cap and closing the scope stop timers", () =>
    Effect.gen(function* () {
      const { keepWarm, sent } = yield* setup(undefined, { maxSessions: 2 })
      yield* keepWarm.track(input("a"))
      yield* TestClock.adjust(1000)
      yield* keepWarm.track(input("b"))
      yield* TestClock.adjust(1000)
      yield* keepWarm.track(input("c"))
      expect((yield* keepWarm.status).tracked.map((t) => t.sessionKey)).toEqual(["c", "b"])
      yield* keepWarm.untrack("b")
      yield* TestClock.adjust(10 * MIN)
      expect(count(sent, "a")).toBe(0)
      expect(count(sent, "b")).toBe(0)
      expect(count(sent, "c")).toBe(2)

      const scoped = yield* Effect.scoped(
        Effect.gen(function* () {
          const inner = yield* setup()
          yield* inner.keepWarm.track(input("d"))
          return inner.sent
        }),
      )
      yield* TestClock.adjust(10 * MIN)
      expect(scoped).toHaveLength(0)
    }),
  )
})

describe("the warm body", () => {
  it.effect("keeps the prompt prefix fields, stores nothing, drops token caps, lowers effort", () =>
    Effect.sync(() => {
      const original = body("ses_1")
      const warm = warmBody(original, "gpt-5.5")
      for (const field of ["model", "instructions", "tools", "input", "prompt_cache_key"]) {
        expect(warm[field]).toBe(original[field])
      }
      expect(warm.store).toBe(false)
      expect(warm.stream).toBe(true)
      expect("max_output_tokens" in warm).toBe(false)
      expect(warm.reasoning).toEqual({ effort: "low", summary: "auto" })
      expect(warm.text).toEqual({ verbosity: "low" })
      // the serialized prompt (everything up to the input) is byte-identical
      const text = JSON.stringify(warm)
      const head = JSON.stringify(original).split(',"reasoning"')[0] ?? ""
      expect(text.startsWith(head)).toBe(true)
      expect(original.max_output_tokens).toBe(1000)
      // the lowest effort gpt-5.4 takes: codex-rs's catalog offers it low..xhigh (no `none`)
      expect(warmBody({ ...original, reasoning: { effort: "xhigh" } }, "gpt-5.4").reasoning).toEqual({ effort: "low" })
      const plain = warmBody({ model: "gpt-5.5", input: [], store: true }, "gpt-5.5")
      expect(plain).toEqual({ model: "gpt-5.5", input: [], store: false, stream: true })
    }),
  )

  it.effect("the warm request carries the warm body", () =>
    Effect.gen(function* () {
      const { keepWarm, sent } = yield* setup()
      yield* keepWarm.track(input("ses_1"))
      yield* TestClock.adjust(FIRST)
      expect(sent[0]?.body).toEqual(warmBody(body("ses_1"), "gpt-5.5"))
    }),
  )
})

describe("KeepWarm warms only what a user would pay to keep warm", () => {
  /** OpenCode's title request: same session key, its own short prompt, no tools */
  const titleBody = (sessionKey: string): Record<string, unknown> => ({
    model: "gpt-5.5",
    instructions: "You are a title generator. Output a short title.",
    input: [{ role: "user", content: [{ type: "input_text", text: "hello" }] }],
    reasoning: { effort: "none", summary: "auto" },
    store: false,
    stream: true,
    prompt_cache_key: sessionKey,
  })

  it.effect("OpenCode's title request ending after the real turn never becomes the warmed prompt", () =>
    Effect.gen(function* () {
      const { keepWarm, sent, lines } = yield* setup()
      yield* keepWarm.track(input("ses_1", { agent: "build" }))
      // the title answer ends last: its bookkeeping runs after the turn's
      yield* TestClock.adjust(1_000)
      yield* keepWarm.track(input("ses_1", { agent: "title", body: titleBody("ses_1") }))
      yield* keepWarm.track(input("ses_1", { agent: "summary", body: titleBody("ses_1") }))
      // the timer was not restarted by them either: the warm goes out TTL - margin after the real turn
      yield* TestClock.adjust(FIRST - 1_000)
      expect(sent).toHaveLength(1)
      expect(sent[0]?.body).toEqual(warmBody(body("ses_1"), "gpt-5.5"))
      expect(sent[0]?.body.instructions).toBe("You are a coding agent.")
      expect(lines.filter((l) => l.includes("not tracked")).map((l) => l.replace(/^\S+ /, ""))).toEqual([
        `DEBUG cache keep-warm: not tracked {"sessionKey":"ses_1","reason":"OpenCode's title request"}\n`,
        `DEBUG cache keep-warm: not tracked {"sessionKey":"ses_1","reason":"OpenCode's summary request"}\n`,
      ])
    }),
  )

  it.effect("a session made only of OpenCode's side requests is never warmed", () =>
    Effect.gen(function* () {
      const { keepWarm, sent } = yield* setup()
      yield* keepWarm.track(input("ses_t", { agent: "title", body: titleBody("ses_t") }))
      yield* keepWarm.track(input("ses_t", { agent: "compaction" }))
      yield* TestClock.adjust(2 * FIRST)
      expect(sent).toHaveLength(0)
      expect((yield* keepWarm.status).tracked).toEqual([])
    }),
  )

  it.effect("a session whose subagent status is unknown is not warmed", () =>
    Effect.gen(function* () {
      const { keepWarm, sent, lines } = yield* setup({ enabled: true, subagents: true })
      yield* keepWarm.track(input("ses_u", { subagent: undefined }))
      yield* TestClock.adjust(2 * FIRST)
      expect(sent).toHaveLength(0)
      expect((yield* keepWarm.status).tracked).toEqual([])
      expect(lines.some((l) => l.includes("cannot tell whether the session is a subagent's"))).toBe(true)
      // once the host can tell, the session is kept warm as usual
      yield* keepWarm.track(input("ses_u", { subagent: false }))
      yield* TestClock.adjust(FIRST)
      expect(sent.map((r) => r.sessionKey)).toEqual(["ses_u"])
    }),
  )
})

describe("KeepWarm track's summary (what the state file shows, from the track's own read of the settings)", () => {
  it.effect("agrees with status: enabled, and the sessions tracked and not stopped", () =>
    Effect.gen(function* () {
      const { keepWarm, state } = yield* setup()
      expect(yield* keepWarm.track(input("ses_1"))).toEqual({ enabled: true, tracked: 1 })
      expect(yield* keepWarm.track(input("ses_2"))).toEqual({ enabled: true, tracked: 2 })
      // OpenCode's title request is not tracked, but the summary still reports what is
      expect(yield* keepWarm.track(input("ses_1", { agent: "title" }))).toEqual({ enabled: true, tracked: 2 })
      const status = yield* keepWarm.status
      expect(status.tracked.filter((t) => t.stopped === undefined)).toHaveLength(2)
      state.settings = { enabled: false, subagents: false }
      expect(yield* keepWarm.track(input("ses_1"))).toEqual({ enabled: false, tracked: 1 })
      // settings the request already read are taken as they are (no read of its own)
      const given = { enabled: true, subagents: false }
      expect(yield* keepWarm.track(input("ses_1", { settings: given }))).toEqual({ enabled: true, tracked: 2 })
    }),
  )
})
