import { describe, expect } from "bun:test"
import { Clock, Context, Effect, Fiber, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { it, testEffect } from "../src/Test.ts"

class Boom extends Schema.TaggedError<Boom>()("Boom", { reason: Schema.String }) {}

class Counter extends Context.Service<Counter, { readonly next: Effect.Effect<number> }>()(
  "@cortexkit/testkit/test/Counter",
) {
  static readonly layer = Layer.sync(Counter, () => {
    let n = 0
    return Counter.of({ next: Effect.sync(() => ++n) })
  })
}

describe("test helper", () => {
  it.effect("runs with a TestClock that only moves when told", () =>
    Effect.gen(function* () {
      const fiber = yield* Effect.forkChild(Effect.sleep("1 hour").pipe(Effect.as("woke")))
      yield* TestClock.adjust("1 hour")
      expect(yield* Fiber.join(fiber)).toBe("woke")
      expect(yield* Clock.currentTimeMillis).toBe(3_600_000)
    }),
  )

  it.live("runs with the real clock", () =>
    Effect.gen(function* () {
      expect(yield* Clock.currentTimeMillis).toBeGreaterThan(1_700_000_000_000)
    }),
  )

  const counter = testEffect(Counter.layer)
  counter.effect("provides a layer", () =>
    Effect.gen(function* () {
      const c = yield* Counter
      expect(yield* c.next).toBe(1)
      expect(yield* c.next).toBe(2)
    }),
  )

  it.effect("surfaces typed failures", () =>
    Effect.gen(function* () {
      const result = yield* Effect.flip(Effect.fail(new Boom({ reason: "x" })))
      expect(result._tag).toBe("Boom")
    }),
  )
})
