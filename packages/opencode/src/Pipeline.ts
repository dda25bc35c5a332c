/**
 * The `fetch` OpenCode calls for every OpenAI request once the user is logged in with ChatGPT: the shared
 * request path (accounts/RequestPath: decode, route, refresh, rewrite, send, hand the bytes back) plus what
 * only OpenCode has. When an account has answered, a dump of what went on the wire (when dumps are on);
 * once the answer has ended, keep-warm tracking, the state file the sidebar reads, and the dump's usage.
 * Neither competes with the first byte or the stream.
 */
import {
  HOST_NOTE_PREFIX,
  makeFetch as makePathFetch,
  type RequestHooks,
  type ServedTurn,
} from "@cortexkit/openai-auth-accounts/RequestPath"
import type { StreamEnd } from "@cortexkit/openai-auth-accounts/RoutedClient"
import { StateFile } from "@cortexkit/openai-auth-accounts/StateFile"
import { Clock, Effect, Ref } from "effect"
import { Dumps } from "./Dumps.ts"
import { KeepWarm } from "./KeepWarm.ts"
import type { PluginRuntime } from "./Runtime.ts"
import { warmUsage } from "./Warmer.ts"

export { toResponse } from "@cortexkit/openai-auth-accounts/RequestPath"

export interface FetchOptions {
  /**
   * whether the OpenCode session behind a prompt cache key is a subagent's (keep-warm skips those by default);
   * undefined when the host cannot tell, and then keep-warm leaves the session alone
   */
  readonly isSubagent?: (sessionKey: string) => boolean | undefined
}

/**
 * Set by the server's `chat.headers` to the OpenCode agent making the request (keep-warm must tell the title
 * and summary requests from the conversation's turns); a host note, so the path never sends it on.
 */
export const AGENT_HEADER = `${HOST_NOTE_PREFIX}agent`

type OpenCodeServices = Dumps | KeepWarm | StateFile

/** The dump of one served request: what went on the wire and what OpenCode handed to `fetch`. */
const writeDump = (turn: ServedTurn, sequence: number) =>
  Effect.gen(function* () {
    const { call, host, routed } = turn
    yield* (yield* Dumps).write({
      sessionKey: routed.sessionKey,
      sequence,
      at: turn.startedAt,
      account: routed.account,
      transport: routed.response.transport,
      model: host.body.model,
      url: routed.request.url,
      headers: routed.request.headers,
      body: routed.request.body,
      hostRequest: { url: call.url, headers: host.headers, body: typeof call.body === "string" ? call.body : "" },
      status: routed.response.status,
    })
  })

/** After the answer ended: keep the session warm, tell the sidebar, and complete the dump with the usage. */
const afterAnswer = (
  turn: ServedTurn,
  subagent: boolean | undefined,
  servedAt: number,
  dumpSequence: number | undefined,
) =>
  Effect.fnUntraced(function* (end: StreamEnd) {
    const { routed } = turn
    const keepWarm = yield* KeepWarm
    yield* keepWarm.track({
      sessionKey: routed.sessionKey,
      account: routed.account,
      subagent,
      agent: turn.notes[AGENT_HEADER],
      body: routed.request.json as Record<string, unknown>,
      model: turn.host.body.model,
    })
    // what `/openai-cachekeep` and the sidebar show: the account in use and the sessions kept warm
    const warm = yield* keepWarm.status
    yield* (yield* StateFile).update((s) => ({
      ...s,
      lastServed: { key: routed.account, at: servedAt },
      keepWarm: {
        enabled: warm.enabled,
        tracked: warm.tracked.filter((t) => t.stopped === undefined).length,
        ...(s.keepWarm?.lastWarm === undefined ? {} : { lastWarm: s.keepWarm.lastWarm }),
      },
    }))
    if (dumpSequence !== undefined && end.usage !== undefined) {
      yield* (yield* Dumps).complete(routed.sessionKey, dumpSequence, warmUsage(end.usage))
    }
  })

/** OpenCode's request hooks; `sequence` numbers this fetch's dumps. */
export const openCodeHooks = (options: FetchOptions = {}): RequestHooks<OpenCodeServices> => {
  const sequence = Ref.makeUnsafe(0)
  return {
    served: (turn) =>
      Effect.gen(function* () {
        const servedAt = yield* Clock.currentTimeMillis
        const dumpSequence = turn.settings.dump ? yield* Ref.updateAndGet(sequence, (n) => n + 1) : undefined
        if (dumpSequence !== undefined) yield* Effect.forkDetach(writeDump(turn, dumpSequence))
        const subagent = options.isSubagent === undefined ? false : options.isSubagent(turn.routed.sessionKey)
        return afterAnswer(turn, subagent, servedAt, dumpSequence)
      }),
  }
}

export const makeFetch = (runtime: PluginRuntime, options: FetchOptions = {}) =>
  makePathFetch<OpenCodeServices>((effect) => runtime.runPromise(effect), openCodeHooks(options))
