/**
 * Request dumps on a host's request path, through RequestPath's `served` hook: while the dump setting is on,
 * each served turn is numbered and written in the background (never in the way of the answer), and its
 * usage is added once the answer has ended. The OpenCode plugin and the Pi extension use it as it is; a host
 * on the facade may add it to its runtime (`dumpsLayer`) and call `dumpHook()` from its own hook.
 */
import { Settings, type SettingsSource } from "@cortexkit/openai-auth-core/Settings"
import type { Usage } from "@cortexkit/openai-auth-core/StreamEvent"
import { Effect, Layer, Ref } from "effect"
import { type DumpEntry, Dumps, type DumpUsage } from "./Dumps.ts"
import { LiveSettings } from "./LiveSettings.ts"
import type { AfterEnd, ServedTurn } from "./RequestPath.ts"
import type { StreamEnd } from "./RoutedClient.ts"

/**
 * The dumps of a running host: the folder as resolved at start, the switch as the settings file says now
 * (so `/openai-dump on` takes effect on the next request); the README names the host's dump variable.
 */
export const dumpsLayer = (source: SettingsSource) =>
  Layer.effect(
    Dumps,
    Effect.gen(function* () {
      const live = yield* LiveSettings
      const startup = yield* Settings
      return yield* Dumps.make({
        dumpDir: startup.dumpDir,
        dumpVariable: source.names.env.dump,
        enabled: Effect.map(live.current, (s) => s.dump),
      })
    }),
  )

export const dumpUsage = (usage: Usage): DumpUsage => ({
  inputTokens: usage.inputTokens,
  cachedTokens: usage.cachedTokens,
  outputTokens: usage.outputTokens,
})

const decoder = new TextDecoder()

/** the host's body as text: a client that sends bytes (Pi) is dumped as readably as one that sends a string */
const bodyText = (body: ServedTurn["call"]["body"]): string =>
  typeof body === "string"
    ? body
    : body instanceof Uint8Array || body instanceof ArrayBuffer
      ? decoder.decode(body)
      : ""

/** The dump of one served turn: what went on the wire and what the host handed to `fetch`. */
export const dumpEntry = (turn: ServedTurn, sequence: number): DumpEntry => {
  const { call, host, routed } = turn
  return {
    sessionKey: routed.sessionKey,
    sequence,
    at: turn.startedAt,
    account: routed.account,
    transport: routed.response.transport,
    model: host.body.model,
    url: routed.request.url,
    headers: routed.request.headers,
    body: routed.request.body,
    hostRequest: { url: call.url, headers: host.headers, body: bodyText(call.body) },
    status: routed.response.status,
  }
}

/**
 * The dump part of a `served` hook, numbering the turns of one host `fetch`: for a turn served while dumps
 * are on it starts the write and returns what completes the dump with the answer's usage once it ended.
 */
export const dumpHook = () => {
  const sequence = Ref.makeUnsafe(0)
  return (turn: ServedTurn): Effect.Effect<AfterEnd<Dumps> | undefined, never, Dumps> =>
    Effect.gen(function* () {
      if (!turn.settings.dump) return undefined
      const number = yield* Ref.updateAndGet(sequence, (n) => n + 1)
      const dumps = yield* Dumps
      yield* dumps.writeInBackground(dumpEntry(turn, number))
      return (end: StreamEnd) =>
        end.usage === undefined ? Effect.void : dumps.complete(turn.routed.sessionKey, number, dumpUsage(end.usage))
    })
}
