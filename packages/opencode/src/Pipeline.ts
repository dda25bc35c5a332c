/**
 * The `fetch` OpenCode calls for every OpenAI request once the user is logged in with ChatGPT. It reads like
 * the request path in docs/architecture.md: decode what the host sent, let the routed client pick an account,
 * refresh, rewrite and send, then hand the SSE bytes back untouched while quota, dumps and the state file are
 * updated off the hot path. Refusals become the HTTP responses the AI SDK already knows how to report.
 */
import type { RoutedError } from "@cortexkit/openai-auth-accounts/RoutedClient"
import { RoutedClient } from "@cortexkit/openai-auth-accounts/RoutedClient"
import { StateFile } from "@cortexkit/openai-auth-accounts/StateFile"
import { HostBodyMemo } from "@cortexkit/openai-auth-core/HostBodyMemo"
import { decodeHostRequestResult } from "@cortexkit/openai-auth-core/HostRequest"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { Effect, Result } from "effect"
import { Dumps } from "./Dumps.ts"
import { KeepWarm } from "./KeepWarm.ts"
import { LiveSettings } from "./LiveSettings.ts"
import type { PluginRuntime } from "./Runtime.ts"
import { warmUsage } from "./Warmer.ts"

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

/** The backend's own usage-limit shape, so OpenCode shows the same message and waits for the reset. */
const usageLimitResponse = (message: string, resetsAt: number | undefined, now: number) =>
  json(
    429,
    {
      error: {
        type: "usage_limit_reached",
        message,
        ...(resetsAt === undefined ? {} : { resets_at: Math.ceil(resetsAt / 1000) }),
      },
    },
    resetsAt === undefined ? {} : { "retry-after": String(Math.max(1, Math.ceil((resetsAt - now) / 1000))) },
  )

export const toResponse = (error: RoutedError, now: number): Response => {
  switch (error._tag) {
    case "AllAccountsGated":
      return usageLimitResponse(error.message, error.retryAt, now)
    case "RequestRefused": {
      const failure = error.failure
      if (failure._tag === "UsageLimit") return usageLimitResponse(error.message, failure.resetsAt, now)
      const retryAfter =
        failure._tag === "BurstRateLimit" && failure.retryAfterMs !== undefined
          ? { "retry-after": String(Math.max(1, Math.ceil(failure.retryAfterMs / 1000))) }
          : {}
      return json(
        error.status >= 400 ? error.status : 502,
        { error: { type: failure._tag, code: "code" in failure ? failure.code : undefined, message: error.message } },
        retryAfter,
      )
    }
    case "BackendUnreachable":
      return json(502, { error: { type: "backend_unreachable", message: error.message } })
    case "RequestAborted":
      throw new DOMException("The operation was aborted.", "AbortError")
  }
}

const isResponsesCall = (url: string) => /\/responses(\?|$)/.test(url) || url.endsWith("/chat/completions")

let sequence = 0

export interface FetchOptions {
  /**
   * whether the OpenCode session behind a prompt cache key is a subagent's (keep-warm skips those by default);
   * undefined when the host cannot tell, and then keep-warm leaves the session alone
   */
  readonly isSubagent?: (sessionKey: string) => boolean | undefined
}

/** Set by the server's `chat.headers` to the OpenCode agent making the request; never sent on. */
export const AGENT_HEADER = "x-openai-auth-agent"

export const makeFetch = (runtime: PluginRuntime, options: FetchOptions = {}) => {
  // each turn's body repeats the conversation so far: parse only what is new
  const bodyMemo = new HostBodyMemo()
  return async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = input instanceof Request ? input : undefined
    const url = request?.url ?? String(input)
    if (!isResponsesCall(url)) return fetch(input, init)
    const body = init?.body ?? (request === undefined ? undefined : await request.text())
    const decoded = decodeHostRequestResult(
      {
        url,
        method: init?.method ?? request?.method ?? "POST",
        headers: init?.headers ?? request?.headers,
        body: body as string | Uint8Array | ArrayBuffer | null | undefined,
      },
      bodyMemo,
    )
    if (Result.isFailure(decoded)) {
      return json(400, { error: { type: "invalid_request", message: decoded.failure.message } })
    }
    const { [AGENT_HEADER]: agent, ...headers } = decoded.success.headers
    const host = agent === undefined ? decoded.success : { ...decoded.success, headers }
    const hostRequestText = typeof body === "string" ? body : ""
    const signal = init?.signal ?? request?.signal ?? undefined
    let sessionKeyOf: string | undefined
    return runtime.runPromise(
      Effect.gen(function* () {
        const { settings, document } = yield* (yield* LiveSettings).snapshot
        const client = yield* RoutedClient
        const state = yield* StateFile
        const dumps = yield* Dumps
        const log = yield* Logger
        const keepWarm = yield* KeepWarm
        const detach = Effect.runForkWith(yield* Effect.context<never>())
        const started = Date.now()
        const dumpSequence = settings.dump ? ++sequence : undefined
        let streamEnded = false
        let afterStream: (() => void) | undefined
        const result = yield* client
          .send(host, {
            settings,
            document,
            signal: signal ?? undefined,
            // usage arrives at the end of the stream, long after the dump was written
            onEvent: (_, event) => {
              if (event._tag === "Usage" && dumpSequence !== undefined && sessionKeyOf !== undefined) {
                detach(dumps.complete(sessionKeyOf, dumpSequence, warmUsage(event.usage)))
              }
              if (event._tag === "Terminal") {
                streamEnded = true
                const run = afterStream
                afterStream = undefined
                run?.()
              }
            },
          })
          .pipe(Effect.result)
        if (Result.isFailure(result)) {
          // log lines are appended in the background: the answer never waits for the log file
          yield* Effect.forkDetach(
            log.warn("request not served", { reason: result.failure.message ?? result.failure._tag }),
          )
          return toResponse(result.failure, Date.now())
        }
        const routed = result.success
        sessionKeyOf = routed.sessionKey
        if (routed.attempts.length > 1) {
          // a fallback, a refresh after a 401 or a burst retry happened: worth a line at the default level
          yield* Effect.forkDetach(
            log.info("request served after retries", {
              account: routed.account,
              attempts: routed.attempts.map((a) => `${a.account}: ${a.outcome}`),
            }),
          )
        }
        yield* log.debug("request served", {
          account: routed.account,
          transport: routed.response.transport,
          attempts: routed.attempts.length,
          ms: Date.now() - started,
        })
        const servedAt = Date.now()
        const subagent = options.isSubagent === undefined ? false : options.isSubagent(routed.sessionKey)
        // bookkeeping the answer does not wait for runs once the answer has ended, so that it competes with
        // neither the first byte nor the stream (a Terminal event seen before this point came from an attempt
        // that failed before output, or from an answer that was over before it was handed out: run at once)
        const bookkeeping = Effect.gen(function* () {
          yield* keepWarm.track({
            sessionKey: routed.sessionKey,
            account: routed.account,
            subagent,
            agent,
            body: routed.request.json as Record<string, unknown>,
            model: host.body.model,
          })
          // what `/openai-cachekeep` and the sidebar show: the account in use and the sessions kept warm
          const warm = yield* keepWarm.status
          yield* state.update((s) => ({
            ...s,
            lastServed: { key: routed.account, at: servedAt },
            keepWarm: {
              enabled: warm.enabled,
              tracked: warm.tracked.filter((t) => t.stopped === undefined).length,
              ...(s.keepWarm?.lastWarm === undefined ? {} : { lastWarm: s.keepWarm.lastWarm }),
            },
          }))
        })
        const startBookkeeping = () => detach(bookkeeping)
        if (streamEnded) startBookkeeping()
        else afterStream = startBookkeeping
        if (dumpSequence !== undefined) {
          yield* Effect.forkDetach(
            dumps.write({
              sessionKey: routed.sessionKey,
              sequence: dumpSequence,
              at: started,
              account: routed.account,
              transport: routed.response.transport,
              model: host.body.model,
              url: routed.request.url,
              headers: routed.request.headers,
              body: routed.request.body,
              hostRequest: { url, headers: host.headers, body: hostRequestText },
              status: routed.response.status,
            }),
          )
        }
        return new Response(routed.response.body, {
          status: routed.response.status,
          headers: { "content-type": "text/event-stream", ...pickHeaders(routed.response.headers) },
        })
      }),
    )
  }
}

const pickHeaders = (headers: Readonly<Record<string, string>>) => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(headers)) {
    if (key.startsWith("x-codex-") || key === "x-request-id" || key === "openai-processing-ms") out[key] = value
  }
  return out
}
