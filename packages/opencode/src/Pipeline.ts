/**
 * The `fetch` OpenCode calls for every OpenAI request once the user is logged in with ChatGPT: the shared
 * request path (accounts/RequestPath: decode, route, refresh, rewrite, send, hand the bytes back) plus what
 * only OpenCode has. When an account has answered, a dump of what went on the wire (when dumps are on);
 * once the answer has ended, keep-warm tracking, the state file the sidebar reads, and the dump's usage.
 * Neither competes with the first byte or the stream.
 */
import { dumpHook } from "@cortexkit/openai-auth-accounts/DumpHook"
import type { Dumps } from "@cortexkit/openai-auth-accounts/Dumps"
import {
  type AfterEnd,
  HOST_NOTE_PREFIX,
  makeFetch as makePathFetch,
  type RequestHooks,
  type ServedTurn,
} from "@cortexkit/openai-auth-accounts/RequestPath"
import { StateFile } from "@cortexkit/openai-auth-accounts/StateFile"
import { Clock, Effect } from "effect"
import { KeepWarm } from "./KeepWarm.ts"
import type { PluginRuntime } from "./Runtime.ts"

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

/** After the answer ended: keep the session warm, tell the sidebar, and complete the dump with the usage. */
const afterAnswer =
  (
    turn: ServedTurn,
    subagent: boolean | undefined,
    servedAt: number,
    dumped: AfterEnd<Dumps> | undefined,
  ): AfterEnd<OpenCodeServices> =>
  (end) =>
    Effect.gen(function* () {
      const { routed } = turn
      // the summary comes back from the track itself: one read of the settings per request, not two
      const warm = yield* (yield* KeepWarm).track({
        sessionKey: routed.sessionKey,
        account: routed.account,
        subagent,
        agent: turn.notes[AGENT_HEADER],
        body: routed.request.json as Record<string, unknown>,
        model: turn.host.body.model,
        // as this request read them: no second read of the store (a stat) per request
        settings: turn.document.cacheKeep,
      })
      // what `/openai-cachekeep` and the sidebar show: the account in use and the sessions kept warm
      yield* (yield* StateFile).update((s) => ({
        ...s,
        lastServed: { key: routed.account, at: servedAt },
        keepWarm: {
          enabled: warm.enabled,
          tracked: warm.tracked,
          ...(s.keepWarm?.lastWarm === undefined ? {} : { lastWarm: s.keepWarm.lastWarm }),
        },
      }))
      if (dumped !== undefined) yield* dumped(end)
    })

/** OpenCode's request hooks; `sequence` numbers this fetch's dumps. */
export const openCodeHooks = (options: FetchOptions = {}): RequestHooks<OpenCodeServices> => {
  const dump = dumpHook()
  return {
    served: (turn) =>
      Effect.gen(function* () {
        const servedAt = yield* Clock.currentTimeMillis
        const dumped = yield* dump(turn)
        const subagent = options.isSubagent === undefined ? false : options.isSubagent(turn.routed.sessionKey)
        return afterAnswer(turn, subagent, servedAt, dumped)
      }),
  }
}

export const makeFetch = (runtime: PluginRuntime, options: FetchOptions = {}) =>
  makePathFetch<OpenCodeServices>((effect) => runtime.runPromise(effect), openCodeHooks(options))
