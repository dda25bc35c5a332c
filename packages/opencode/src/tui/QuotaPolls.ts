/**
 * The quota dialog's refresh: one usage poll per account, all at once, each answer shown as it arrives. A
 * second open while polls run shows the same polls rather than starting more. The states live in a Solid
 * signal, so an open dialog re-renders as they change.
 */
import type { PollOutcome } from "@cortexkit/openai-auth-accounts/QuotaPoller"
import { type Accessor, createSignal } from "solid-js"
import { type PollState, pollState } from "./QuotaView.ts"

export interface QuotaPolls {
  /** each account's poll: Polling until it answers */
  readonly states: Accessor<ReadonlyMap<string, PollState>>
  /** polls `keys` unless a refresh is already running; resolves when every poll has answered */
  readonly refresh: (keys: ReadonlyArray<string>) => Promise<void>
}

export const makeQuotaPolls = (
  poll: (keys: ReadonlyArray<string>, onOutcome: (outcome: PollOutcome) => void) => Promise<void>,
  onSettled: () => void,
): QuotaPolls => {
  const [states, setStates] = createSignal<ReadonlyMap<string, PollState>>(new Map())
  let running: Promise<void> | undefined
  const refresh = (keys: ReadonlyArray<string>) => {
    if (running !== undefined) return running
    setStates(new Map(keys.map((key): [string, PollState] => [key, { _tag: "Polling" }])))
    let waiting = keys.length
    const { promise, resolve } = Promise.withResolvers<void>()
    const settle = () => {
      if (running !== promise) return
      // the next open polls again once every account answered, even while the readings are still being saved
      running = undefined
      onSettled()
      resolve()
    }
    running = promise
    poll(keys, (outcome) => {
      setStates((previous) => new Map(previous).set(outcome.key, pollState(outcome)))
      if (--waiting === 0) settle()
    })
      .catch(() => undefined)
      .finally(settle)
    if (keys.length === 0) settle()
    return promise
  }
  return { states, refresh }
}
