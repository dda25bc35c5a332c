/**
 * How an answer's stream ended, as the routed client hands it to its caller (`RoutedResponse.ended`): each
 * attempt's listener hears its `Usage` and then its `Terminal` event, and the served attempt's end is the
 * one the caller waits for.
 */
import type { StreamEvent, TerminalOutcome, Usage } from "@cortexkit/openai-auth-core/StreamEvent"
import { Deferred, Exit } from "effect"

/** How the served stream ended. */
export interface StreamEnd {
  readonly outcome: TerminalOutcome
  readonly usage?: Usage | undefined
}

/** One attempt's end: its listener hears `Usage` then `Terminal`; `ended` waits for the latter. */
export const watchEnd = () => {
  const deferred = Deferred.makeUnsafe<StreamEnd>()
  let usage: Usage | undefined
  return {
    hear: (event: StreamEvent) => {
      if (event._tag === "Usage") usage = event.usage
      else if (event._tag === "Terminal") Deferred.doneUnsafe(deferred, Exit.succeed({ outcome: event.outcome, usage }))
    },
    ended: Deferred.await(deferred),
  }
}
