/**
 * Codex "responses websockets" over any `WsConnector` (the runtime's `WebSocket` by default; the raw RFC 6455
 * client passes its own): one `response.create` frame per turn, every reply frame re-encoded as SSE for the
 * caller, the same commit point as HTTP (`WsRespond.ts`). Sockets live in a `WsPool` per (account, session) so
 * follow-ups can chain with `previous_response_id` (see `WsChain.ts`).
 *
 * The control flow is Effect code: a connect is interruptible, bounded by `Effect.timeout` on the `Clock`, and
 * its socket lives in a scope of the pool's. Before output:
 * - `websocket_connection_limit_reached` / `previous_response_not_found` -> a fresh socket and the full
 *   request, once;
 * - a refused upgrade, a failed or timed-out connect, or a socket that closes -> the same request over HTTP
 *   (unless `fallbackToHttp` is off: then the refusal itself);
 * - the caller's abort -> `TransportAborted`, never a fallback.
 */
import { classifyHttp, Transient } from "@cortexkit/openai-auth-core/CodexError"
import { quotaFromHeaders } from "@cortexkit/openai-auth-core/Quota"
import type { StreamEventListener } from "@cortexkit/openai-auth-core/StreamEvent"
import { Duration, Effect } from "effect"
import { onClockOf } from "./Alarms.ts"
import { type HttpTransportOptions, type ResolvedHttpOptions, resolveHttpOptions, sendHttp } from "./HttpTransport.ts"
import {
  type ConnectFailure,
  PreOutputFailure,
  TransportAborted,
  type TransportError,
  type TransportKind,
  type TransportRequest,
  type TransportResponse,
  type TransportShape,
  TransportTimeout,
} from "./Transport.ts"
import { nativeConnector, type UpgradeRejected, type WsConnector } from "./WsConnection.ts"
import { makeWsPool, type PooledSocket, type SocketKey, type WsPoolOptions, type WsPoolShape } from "./WsPool.ts"
import { type RespondContext, respond } from "./WsRespond.ts"

export const RESPONSES_WEBSOCKETS_BETA = "responses_websockets=2026-02-06"

export interface WebSocketTransportOptions extends HttpTransportOptions, WsPoolOptions {
  readonly kind?: Extract<TransportKind, "websocket" | "raw-websocket">
  readonly connector?: WsConnector
  /** handshake budget (default 15 s) */
  readonly connectTimeoutMs?: number
  /** send over HTTP when the upgrade fails or the socket dies before output (default true) */
  readonly fallbackToHttp?: boolean
  /** `previous_response_id` chaining (default true) */
  readonly chaining?: boolean
}

// per-request flags a socket's handshake cannot carry: the Lite flag goes in the frame's client_metadata
const DROPPED_HEADERS = new Set(["accept", "content-type", "content-length", "x-openai-internal-codex-responses-lite"])

export const websocketUrl = (url: string): string => url.replace(/^http(s?):/i, (_, s: string) => `ws${s}:`)

export const handshakeHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) if (!DROPPED_HEADERS.has(name.toLowerCase())) out[name] = value
  out["openai-beta"] = RESPONSES_WEBSOCKETS_BETA
  return out
}

interface WsContext extends RespondContext {
  readonly connector: WsConnector
  readonly connectTimeoutMs: number
  readonly fallbackToHttp: boolean
  readonly http: ResolvedHttpOptions
}

/** Fails with `TransportAborted`, interrupting `effect`, when the caller's signal fires first. */
const unlessAborted =
  (signal: AbortSignal | undefined) =>
  <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E | TransportAborted> => {
    if (signal === undefined) return effect
    const aborted = Effect.callback<never, TransportAborted>((resume) => {
      if (signal.aborted) return resume(Effect.fail(new TransportAborted()))
      const onAbort = () => resume(Effect.fail(new TransportAborted()))
      signal.addEventListener("abort", onAbort, { once: true })
      return Effect.sync(() => signal.removeEventListener("abort", onAbort))
    })
    return Effect.raceFirst(effect, aborted)
  }

/** An HTTP answer to the upgrade is the same refusal the HTTP transport would report. */
const refusal = (ctx: WsContext, error: UpgradeRejected): PreOutputFailure => {
  const quota = quotaFromHeaders(error.headers, ctx.http.alarms.now())
  return new PreOutputFailure({
    failure: classifyHttp(error.status, error.body, error.headers),
    status: error.status,
    headers: { ...error.headers },
    ...(quota === undefined ? {} : { quota }),
  })
}

/** A new socket for the request's key, in the pool, within the connect deadline. */
const openSocket = (
  ctx: WsContext,
  request: TransportRequest,
  key: SocketKey,
): Effect.Effect<PooledSocket, TransportError> => {
  const connect = ctx.connector(websocketUrl(request.url), handshakeHeaders(request.headers)).pipe(
    Effect.timeoutOrElse({
      duration: Duration.millis(ctx.connectTimeoutMs),
      orElse: () => Effect.fail(new TransportTimeout({ phase: "connect", afterMs: ctx.connectTimeoutMs })),
    }),
    onClockOf(ctx.http.alarms),
  )
  return ctx.pool.open(key, connect).pipe(
    Effect.catchTag("UpgradeRejected", (error) => Effect.fail(refusal(ctx, error))),
    unlessAborted(request.signal),
  )
}

const sendWebSocket = (
  ctx: WsContext,
  request: TransportRequest,
  onEvent: StreamEventListener,
): Effect.Effect<TransportResponse, TransportError> => {
  const key: SocketKey = {
    accountKey: request.accountKey,
    sessionKey: request.sessionKey,
    authorization: request.headers.authorization ?? "",
  }
  const viaHttp = sendHttp(request, onEvent, ctx.http)
  /** a refusal before any output goes over HTTP, unless the fallback is off or the caller has aborted */
  const fallBack = (error: ConnectFailure | TransportTimeout | PreOutputFailure) =>
    ctx.fallbackToHttp && request.signal?.aborted !== true
      ? Effect.andThen(
          Effect.logInfo("the WebSocket failed before any output: the request goes over HTTP", {
            account: request.accountKey,
            transport: ctx.kind,
            reason:
              error._tag === "PreOutputFailure"
                ? error.failure.message
                : error._tag === "TransportTimeout"
                  ? `${error.phase} timeout after ${error.afterMs} ms`
                  : error.message,
          }),
          viaHttp,
        )
      : Effect.fail(error)
  const fallBackLater = (error: ConnectFailure | TransportTimeout | PreOutputFailure) => Effect.succeed(fallBack(error))
  const onSocket = (socket: PooledSocket, retried: boolean): Effect.Effect<TransportResponse, TransportError> =>
    respond(ctx, socket, request, onEvent).pipe(
      Effect.catchTags({
        ReconnectRequested: (error) =>
          retried
            ? Effect.fail(
                new PreOutputFailure({ failure: error.failure, status: 200, headers: { ...socket.conn.headers } }),
              )
            : onNewSocket(true),
        SocketClosedEarly: (error) =>
          fallBack(
            new PreOutputFailure({
              failure: new Transient({ message: `socket closed before output (${error.code})` }),
              status: 200,
              headers: { ...socket.conn.headers },
            }),
          ),
      }),
    )
  // a failed connect falls back; a failure of the response on the new socket is `onSocket`'s to handle
  const onNewSocket = (retried: boolean): Effect.Effect<TransportResponse, TransportError> =>
    openSocket(ctx, request, key).pipe(
      Effect.map((socket) => onSocket(socket, retried)),
      Effect.catchTags({
        ConnectFailure: fallBackLater,
        TransportTimeout: fallBackLater,
        PreOutputFailure: fallBackLater,
      }),
      Effect.flatten,
    )
  return Effect.flatMap(ctx.pool.lease(key), (leased) =>
    leased === undefined
      ? onNewSocket(false)
      : leased === "busy"
        ? ctx.fallbackToHttp
          ? Effect.andThen(
              Effect.logDebug("the session's WebSocket is busy: this request goes over HTTP", {
                account: request.accountKey,
              }),
              viaHttp,
            )
          : onNewSocket(false)
        : onSocket(leased, false),
  )
}

/** The transport and its pool, on the current fiber's `Clock`; the pool's sockets close with the current scope. */
export const makeWebSocketTransport = Effect.fnUntraced(function* (options: WebSocketTransportOptions = {}) {
  const pool = yield* makeWsPool(options)
  const ctx: WsContext = {
    pool,
    connector: options.connector ?? nativeConnector,
    kind: options.kind ?? "websocket",
    connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
    fallbackToHttp: options.fallbackToHttp ?? true,
    chaining: options.chaining ?? true,
    http: yield* resolveHttpOptions(options),
  }
  const transport: TransportShape = {
    kind: ctx.kind,
    send: (request, onEvent) => sendWebSocket(ctx, request, onEvent),
  }
  return { transport, pool: pool as WsPoolShape }
})
