/**
 * A small bridge from `bun:test` to Effect: `it.effect` runs with a TestClock (time only moves when the test
 * says so), `it.live` with the real clock. `testEffect(layer)` builds both on top of a layer, using
 * `Layer.provideMerge` so the layer's services see the test clock too.
 */
import { test as bunTest } from "bun:test"
import { Effect, Layer, type Scope } from "effect"
import { TestClock } from "effect/testing"

type Body<A, E, R> = () => Effect.Effect<A, E, R | Scope.Scope>

const run = <A, E, R>(layer: Layer.Layer<R, unknown>, body: Body<A, E, R>) =>
  Effect.runPromise(
    Effect.scoped(body() as Effect.Effect<A, E, Scope.Scope | R>).pipe(Effect.provide(layer)) as Effect.Effect<
      A,
      E,
      never
    >,
  )

export interface Tester<R> {
  readonly effect: <A, E>(name: string, body: Body<A, E, R>, timeout?: number) => void
  readonly live: <A, E>(name: string, body: Body<A, E, R>, timeout?: number) => void
}

export const testEffect = <R, E>(layer: Layer.Layer<R, E>): Tester<R> => ({
  effect: (name, body, timeout) =>
    bunTest(name, () => run(Layer.provideMerge(layer, TestClock.layer()) as Layer.Layer<R, unknown>, body), timeout),
  live: (name, body, timeout) => bunTest(name, () => run(layer as Layer.Layer<R, unknown>, body), timeout),
})

export const it: Tester<never> = testEffect(Layer.empty as Layer.Layer<never>)
