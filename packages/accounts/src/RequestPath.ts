/**
 * The request path every host shares, in the order docs/architecture.md lists it: decode what the host's
 * Responses client sent, take the settings as they are now, let the routed client pick an account, refresh,
 * rewrite and send, and hand the SSE bytes back untouched. Refusals become the HTTP responses an OpenAI
 * client already knows how to report. A host adds its own work through one hook: `served` runs when an
 * account answered and may return what to do once that answer's stream has ended; both run off the bytes.
 */
import { HostBodyMemo } from "@cortexkit/openai-auth-core/HostBodyMemo"
import { decodeHostRequestResult, type HostRequest, type RawHostRequest } from "@cortexkit/openai-auth-core/HostRequest"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import type { ResolvedSettings } from "@cortexkit/openai-auth-core/Settings"
import { Clock, Effect, Result } from "effect"
import { LiveSettings } from "./LiveSettings.ts"
import { RequestAborted, RoutedClient, type RoutedError, type RoutedResponse, type StreamEnd } from "./RoutedClient.ts"
import type { StoreDocument } from "./StoreSchema.ts"

/** What a host's Responses client handed to `fetch`, its body already read. */
export interface HostCall extends RawHostRequest {
  readonly url: string
  readonly signal?: AbortSignal | undefined
}

/**
 * Headers a host adds for itself (`x-openai-auth-<name>`, e.g. which of its agents made the request): taken
 * off the request before it is routed, so they never reach the backend, and handed to the `served` hook.
 */
export const HOST_NOTE_PREFIX = "x-openai-auth-"

/** A request an account answered. */
export interface ServedTurn {
  readonly call: HostCall
  readonly host: HostRequest
  /** the host's notes on this request, by full header name (see `HOST_NOTE_PREFIX`) */
  readonly notes: Readonly<Record<string, string>>
  readonly routed: RoutedResponse
  readonly settings: ResolvedSettings
  /** the store document the request was routed with (read once per request: hooks need not read it again) */
  readonly document: StoreDocument
  /** epoch ms when the request reached the path */
  readonly startedAt: number
}

/** Runs once the served stream has ended (it never runs for a stream the caller dropped unread). */
export type AfterEnd<R> = (end: StreamEnd) => Effect.Effect<void, never, R>

export interface RequestHooks<R = never> {
  /** Runs before the answer is handed back, so it must be quick: fork anything slow. */
  readonly served?: (turn: ServedTurn) => Effect.Effect<AfterEnd<R> | undefined, never, R>
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

/** The backend's own usage-limit shape, so a client shows the same message and waits for the reset. */
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

/** A refusal as the response the host's client gets; an abort is not a response (the caller rejects). */
export const toResponse = (error: Exclude<RoutedError, RequestAborted>, now: number): Response => {
  switch (error._tag) {
    case "AllAccountsGated":
      // waiting cures a quota; only a login cures a dead token (a 401, so no client retries it or calls it a
      // usage limit); a token endpoint that failed for now is a 503 a client may retry
      if (error.blockedBy === "login") {
        return json(401, { error: { type: "no_usable_account", code: "needs_login", message: error.message } })
      }
      if (error.blockedBy === "credentials") {
        return json(503, { error: { type: "credentials_unavailable", message: error.message } })
      }
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
  }
}

const pickHeaders = (headers: Readonly<Record<string, string>>) => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(headers)) {
    if (key.startsWith("x-codex-") || key === "x-request-id" || key === "openai-processing-ms") out[key] = value
  }
  return out
}

const NO_NOTES: Readonly<Record<string, string>> = {}

/** the request without the host's notes, and the notes (the same request when it carries none: the usual case) */
const takeNotes = (
  host: HostRequest,
): { readonly host: HostRequest; readonly notes: Readonly<Record<string, string>> } => {
  let notes: Record<string, string> | undefined
  let headers: Record<string, string> | undefined
  for (const [name, value] of Object.entries(host.headers)) {
    if (!name.startsWith(HOST_NOTE_PREFIX)) continue
    notes ??= {}
    notes[name] = value
    headers ??= { ...host.headers }
    delete headers[name]
  }
  return notes === undefined || headers === undefined
    ? { host, notes: NO_NOTES }
    : { host: { ...host, headers }, notes }
}

/** The Responses calls the path serves; anything else a client sends goes out untouched. */
export const isResponsesCall = (url: string) => /\/responses(\?|$)/.test(url) || url.endsWith("/chat/completions")

/**
 * One request through the path. `memo` is the fetch's own body memory (each turn's body repeats the
 * conversation so far: only what is new is parsed). Fails only with `RequestAborted`.
 */
export const handleCall = <R>(call: HostCall, memo: HostBodyMemo, hooks: RequestHooks<R>) =>
  Effect.gen(function* () {
    const decoded = decodeHostRequestResult(call, memo)
    if (Result.isFailure(decoded)) {
      return json(400, { error: { type: "invalid_request", message: decoded.failure.message } })
    }
    const { host, notes } = takeNotes(decoded.success)
    const { settings, document } = yield* (yield* LiveSettings).snapshot
    const client = yield* RoutedClient
    const log = yield* Logger
    const startedAt = yield* Clock.currentTimeMillis
    const result = yield* client.send(host, { settings, document, signal: call.signal }).pipe(Effect.result)
    if (Result.isFailure(result)) {
      const error = result.failure
      if (error._tag === "RequestAborted") return yield* error
      // log lines are appended in the background: the answer never waits for the log file
      yield* Effect.forkDetach(log.warn("request not served", { reason: error.message ?? error._tag }))
      return toResponse(error, yield* Clock.currentTimeMillis)
    }
    const routed = result.success
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
      ms: (yield* Clock.currentTimeMillis) - startedAt,
    })
    const afterEnd =
      hooks.served === undefined
        ? undefined
        : yield* hooks.served({ call, host, notes, routed, settings, document, startedAt })
    if (afterEnd !== undefined) {
      // started by the stream's own end (a fiber of its own, with this request's services), rather than a fiber
      // forked now to wait for it: that cost a fork, a suspension and a resumption per request
      const runFork = Effect.runForkWith(yield* Effect.context<R>())
      routed.onEnd((end) => {
        runFork(afterEnd(end))
      })
    }
    return new Response(routed.response.body, {
      status: routed.response.status,
      headers: { "content-type": "text/event-stream", ...pickHeaders(routed.response.headers) },
    })
  })

export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>

/** Runs an effect of the path: a host's `ManagedRuntime.runPromise`, or `Effect.runPromise` with the services. */
export type RunPath<R> = <A>(effect: Effect.Effect<A, RequestAborted, R>) => Promise<A>

const decoder = new TextDecoder()

/** The request body as the decoder takes it: strings and bytes as they are, anything else read to the end. */
const bodyOf = async (
  input: string | URL | Request,
  init: RequestInit | undefined,
): Promise<RawHostRequest["body"]> => {
  const body = init?.body ?? (input instanceof Request ? await input.text() : undefined)
  if (body === undefined || body === null || typeof body === "string") return body
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) return body
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer, body.byteOffset, body.byteLength)
  return decoder.decode(await new Response(body).arrayBuffer())
}

/**
 * A `fetch` that any OpenAI Responses client can be given (the AI SDK's `fetch` option, openai-node's
 * `fetch`): Responses calls take the path; every other call goes to the global `fetch` untouched. An abort
 * rejects with an `AbortError`, the way `fetch` does.
 */
export const makeFetch = <R>(
  run: RunPath<R | RoutedClient | LiveSettings | Logger>,
  hooks: RequestHooks<R> = {},
): Fetch => {
  const memo = new HostBodyMemo()
  return async (input, init) => {
    const request = input instanceof Request ? input : undefined
    const url = request?.url ?? String(input)
    if (!isResponsesCall(url)) return fetch(input, init)
    const call: HostCall = {
      url,
      method: init?.method ?? request?.method ?? "POST",
      headers: init?.headers ?? request?.headers,
      // a string body (what the AI SDK and openai-node send) is taken as it is, without an extra await
      body: typeof init?.body === "string" ? init.body : await bodyOf(input, init),
      signal: init?.signal ?? request?.signal ?? undefined,
    }
    return run(handleCall(call, memo, hooks)).catch((error: unknown) => {
      if (error instanceof RequestAborted) throw new DOMException("The operation was aborted.", "AbortError")
      throw error
    })
  }
}
