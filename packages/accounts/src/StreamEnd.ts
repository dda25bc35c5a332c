/**
 * How an answer's stream ended, as the routed client hands it to its caller (`RoutedResponse.ended` and
 * `RoutedResponse.onEnd`): each attempt's listener hears its `Usage` and then its `Terminal` event, and the
 * served attempt's end is the one the caller waits for.
 */
import type { StreamEvent, TerminalOutcome, Usage } from "@cortexkit/openai-auth-core/StreamEvent"
import { Deferred, Effect, Exit } from "effect"

/** How the served stream ended. */
export interface StreamEnd {
  readonly outcome: TerminalOutcome
  readonly usage?: Usage | undefined
}

/**
 * One attempt's end: its listener hears `Usage` then `Terminal`; `ended` waits for the latter and `onEnd`
 * calls back on it. The callback is what the request path uses: a fiber parked on `ended` for the whole
 * stream cost a fork, a suspension and a resumption per request (docs/performance.md, "Round 3: cpu2").
 */
export const watchEnd = () => {
  let usage: Usage | undefined
  let end: StreamEnd | undefined
  let callbacks: Array<(end: StreamEnd) => void> | undefined
  // made only when someone waits through the Effect
  let deferred: Deferred.Deferred<StreamEnd> | undefined
  const onEnd = (f: (end: StreamEnd) => void): void => {
    if (end !== undefined) f(end)
    else if (callbacks === undefined) callbacks = [f]
    else callbacks.push(f)
  }
  return {
    hear: (event: StreamEvent) => {
      if (event._tag === "Usage") usage = event.usage
      else if (event._tag === "Terminal" && end === undefined) {
        const done: StreamEnd = { outcome: event.outcome, usage }
        end = done
        if (deferred !== undefined) Deferred.doneUnsafe(deferred, Exit.succeed(done))
        const waiting = callbacks
        callbacks = undefined
        if (waiting !== undefined) for (const f of waiting) f(done)
      }
    },
    ended: Effect.suspend(() => {
      if (end !== undefined) return Effect.succeed(end)
      deferred ??= Deferred.makeUnsafe<StreamEnd>()
      return Deferred.await(deferred)
    }),
    onEnd,
  }
}
