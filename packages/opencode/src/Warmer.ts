/**
 * Keep-warm wired to the real request path: a warm is the session's latest wire body replayed through the
 * routed client pinned to the account that served the session (another account has no cached prefix to
 * keep). Its status goes to the state file, where `/openai-cachekeep` and the sidebar read it.
 */

import { LiveSettings } from "@cortexkit/openai-auth-accounts/LiveSettings"
import { RoutedClient } from "@cortexkit/openai-auth-accounts/RoutedClient"
import { StateFile } from "@cortexkit/openai-auth-accounts/StateFile"
import { decodeHostRequestResult } from "@cortexkit/openai-auth-core/HostRequest"
import type { Usage } from "@cortexkit/openai-auth-core/StreamEvent"
import { Effect, Layer, Result } from "effect"
import { KeepWarm, type WarmRequest, type WarmUsage } from "./KeepWarm.ts"

/** The URL OpenCode itself would call; the rewrite replaces it with the Codex endpoint. */
const HOST_RESPONSES_URL = "https://api.openai.com/v1/responses"

export const warmUsage = (usage: Usage): WarmUsage => ({
  inputTokens: usage.inputTokens,
  cachedTokens: usage.cachedTokens,
  outputTokens: usage.outputTokens,
})

export const WarmerLayer = Layer.unwrap(
  Effect.gen(function* () {
    const client = yield* RoutedClient
    const live = yield* LiveSettings
    const state = yield* StateFile

    const warm = (request: WarmRequest) =>
      Effect.gen(function* () {
        const decoded = decodeHostRequestResult({
          url: HOST_RESPONSES_URL,
          headers: { "content-type": "application/json", "session-id": request.sessionKey },
          body: JSON.stringify(request.body),
        })
        if (Result.isFailure(decoded)) return yield* Effect.fail(decoded.failure)
        const settings = yield* live.current
        let usage: WarmUsage | undefined
        const routed = yield* client.send(decoded.success, {
          settings,
          pin: request.account,
          onEvent: (_, event) => {
            if (event._tag === "Usage") usage = warmUsage(event.usage)
          },
        })
        // the cache is only written once the backend has processed the whole prompt: read to the end
        yield* Effect.promise(() => new Response(routed.response.body).arrayBuffer())
        return usage === undefined ? {} : { usage }
      })

    return KeepWarm.layer({
      settings: Effect.map(live.document, (doc) => doc.cacheKeep),
      warm,
      onWarm: (event) => {
        const usage = event.usage
        if (!event.ok || usage === undefined) return Effect.void
        return state.update((s) => ({
          ...s,
          keepWarm: { enabled: true, tracked: s.keepWarm?.tracked ?? 0, lastWarm: { at: event.at, ...usage } },
        }))
      },
    })
  }),
)
