/**
 * `watchEnd`, how the request path learns that a served stream ended: the callback (`onEnd`, which starts the
 * host's after-answer work without a fiber waiting for it) and the Effect (`ended`) report the same end, once,
 * with the usage heard before the terminal event.
 */
import { describe, expect, test } from "bun:test"
import type { Usage } from "@cortexkit/openai-auth-core/StreamEvent"
import { Effect } from "effect"
import { type StreamEnd, watchEnd } from "../src/StreamEnd.ts"

const usage = { inputTokens: 10, cachedTokens: 4, outputTokens: 2 } as unknown as Usage

describe("watchEnd", () => {
  test("onEnd is called once, on the terminal event, with the usage heard before it", () => {
    const end = watchEnd()
    const seen: Array<StreamEnd> = []
    end.onEnd((e) => seen.push(e))
    end.hear({ _tag: "Usage", usage })
    expect(seen).toEqual([])
    end.hear({ _tag: "Terminal", outcome: "completed" })
    end.hear({ _tag: "Terminal", outcome: "dropped" })
    expect(seen).toEqual([{ outcome: "completed", usage }])
  })

  test("a callback registered after the end is called at once; ended completes with the same end", async () => {
    const end = watchEnd()
    const waiting = Effect.runPromise(end.ended)
    end.hear({ _tag: "Terminal", outcome: "completed" })
    const late: Array<StreamEnd> = []
    end.onEnd((e) => late.push(e))
    expect(late).toEqual([{ outcome: "completed", usage: undefined }])
    expect(await waiting).toEqual({ outcome: "completed", usage: undefined })
    expect(await Effect.runPromise(end.ended)).toEqual({ outcome: "completed", usage: undefined })
  })

  test("nothing is reported while no terminal event came (a stream dropped unread)", () => {
    const end = watchEnd()
    const seen: Array<StreamEnd> = []
    end.onEnd((e) => seen.push(e))
    end.hear({ _tag: "Usage", usage })
    expect(seen).toEqual([])
    const fiber = Effect.runFork(end.ended)
    expect(fiber.pollUnsafe()).toBeUndefined()
    fiber.interruptUnsafe()
  })
})
