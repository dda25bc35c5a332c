/**
 * Codex "responses websockets" over any `WsConnector` (the runtime's `WebSocket` by default; the raw RFC 6455
 * client passes its own): one `response.create` frame per turn, every reply frame re-encoded as SSE for the
 * caller, the same commit point as HTTP. Sockets live in a `WsPool` per (account, session) so follow-ups can
 * chain with `previous_response_id` (see `WsChain.ts`).
 *
 * Before output: `websocket_connection_limit_reached` / `previous_response_not_found` -> a fresh socket and
 * the full request, once; a refused upgrade or a socket that dies -> the same request over HTTP (unless
 * `fallbackToHttp` is off).
 */
import { classifyEvent, classifyHttp, Transient } from "@cortexkit/openai-auth-core/CodexError"
import { quotaFromHeaders, quotaFromRateLimitsFrame } from "@cortexkit/openai-auth-core/Quota"
import { StreamObserver } from "@cortexkit/openai-auth-core/SseObserver"
import type { StreamEventListener } from "@cortexkit/openai-auth-core/StreamEvent"
import { Effect, Layer, Schema } from "effect"
import { CommitPoint } from "./CommitPoint.ts"
import { type HttpTransportOptions, resolveHttpOptions, sendHttp, toTransportError } from "./HttpTransport.ts"
import { PushSource } from "./PushSource.ts"
import { decodeFrame, frameType, sseText } from "./SseReencode.ts"
import {
  ConnectFailure,
  PreOutputFailure,
  Transport,
  type TransportKind,
  type TransportRequest,
  type TransportResponse,
  TransportTimeout,
} from "./Transport.ts"
import { chainAfter, createFrame, planRequest } from "./WsChain.ts"
import { nativeConnector, UpgradeRejected, type WsConnector } from "./WsConnection.ts"
import { type PooledSocket, WsPool, type WsPoolOptions, type WsPoolShape } from "./WsPool.ts"

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

/** Before output, the server wants a new connection and the full input. */
class ReconnectRequested extends Schema.TaggedError<ReconnectRequested>()("ReconnectRequested", {
  failure: Schema.Any,
  json: Schema.Unknown,
}) {}

/** The socket closed before any output. */
class SocketClosedEarly extends Schema.TaggedError<SocketClosedEarly>()("SocketClosedEarly", {
  code: Schema.Number,
  reason: Schema.String,
}) {}

const RECONNECT_CODES = new Set(["websocket_connection_limit_reached", "previous_response_not_found"])
const END_TYPES = new Set(["response.completed", "response.failed", "response.incomplete", "response.done"])
// per-request flags a socket's handshake cannot carry: the Lite flag goes in the frame's client_metadata
const DROPPED_HEADERS = new Set(["accept", "content-type", "content-length", "x-openai-internal-codex-responses-lite"])

export const websocketUrl = (url: string): string => url.replace(/^http(s?):/i, (_, s: string) => `ws${s}:`)

export const handshakeHeaders = (headers: Readonly<Record<string, string>>): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) if (!DROPPED_HEADERS.has(name.toLowerCase())) out[name] = value
  out["openai-beta"] = RESPONSES_WEBSOCKETS_BETA
  return out
}

const errorCode = (json: Record<string, unknown>): string | undefined => {
  const error = json.error
  const inner = typeof error === "object" && error !== null ? (error as Record<string, unknown>) : {}
  const code = inner.code ?? inner.type ?? json.code
  return typeof code === "string" ? code : undefined
}

export interface WsContext {
  readonly pool: WsPoolShape
  readonly connector: WsConnector
  readonly kind: Extract<TransportKind, "websocket" | "raw-websocket">
  readonly connectTimeoutMs: number
  readonly fallbackToHttp: boolean
  readonly chaining: boolean
  readonly http: ReturnType<typeof resolveHttpOptions>
}

/** Runs one response on a busy socket, through the commit point. */
const respond = (
  ctx: WsContext,
  socket: PooledSocket,
  request: TransportRequest,
  onEvent: StreamEventListener,
  signal: AbortSignal,
): Promise<TransportResponse> => {
  const plan = ctx.chaining ? planRequest(request.json, socket.chain) : planRequest(request.json, undefined)
  socket.chain = undefined
  const commit = new CommitPoint(onEvent)
  const observer = new StreamObserver(commit.listener)
  /** Frames this function or the observer read; the rest (deltas after the first) skip JSON.parse. */
  const needsJson = (type: string): boolean =>
    type === "codex.rate_limits" ||
    type === "error" ||
    type === "response.created" ||
    END_TYPES.has(type) ||
    (type === "response.output_item.done" && ctx.chaining) ||
    observer.wants(type)
  const output: Array<unknown> = []
  let responseId: string | undefined
  let ended = false
  const end = (reusable: boolean) => {
    if (ended) return
    ended = true
    if (reusable) ctx.pool.release(socket)
    else ctx.pool.retire(socket, "response failed")
  }
  // abort, timeout or the caller gave up: the answer still in flight makes the socket unusable
  const source = new PushSource(() => end(false))
  let skipType = ""
  let skipHead: string | undefined
  socket.onFrame = (text) => {
    if (ended) return
    // a stream is mostly one delta type in a row: once it is known to be skippable (which never reverts
    // within a response), a prefix match classifies the next frame
    if (skipHead !== undefined && text.startsWith(skipHead) && text.charCodeAt(text.length - 1) === 0x7d) {
      source.pushText(sseText(skipType, text))
      return
    }
    const peeked = frameType(text)
    if (peeked !== undefined && !needsJson(peeked)) {
      skipType = peeked
      skipHead = `{"type":"${peeked}"`
      source.pushText(sseText(peeked, text))
      return
    }
    const frame = decodeFrame(text)
    if (frame === undefined) {
      // a garbled answer: before output another attempt is safe (like a malformed HTTP stream); after it the
      // turn ends with an error rather than waiting for the idle limit
      end(false)
      const message = "the backend sent a WebSocket frame that is not a JSON event"
      if (commit.sawOutput) return source.fail(new Error(message))
      return source.fail(
        new PreOutputFailure({ failure: new Transient({ message }), status: 200, headers: { ...socket.conn.headers } }),
      )
    }
    const { json, type } = frame
    if (type === "codex.rate_limits") {
      const snapshot = quotaFromRateLimitsFrame(json, ctx.http.now())
      if (snapshot !== undefined) commit.listener({ _tag: "Quota", snapshot })
      return
    }
    if (type === "error") {
      const code = errorCode(json)
      if (!commit.sawOutput && code !== undefined && RECONNECT_CODES.has(code)) {
        end(false)
        return source.fail(new ReconnectRequested({ failure: classifyEvent(json), json }))
      }
      const headers = json.headers
      if (typeof headers === "object" && headers !== null) {
        const snapshot = quotaFromHeaders(headers as Record<string, string>, ctx.http.now())
        if (snapshot !== undefined) commit.listener({ _tag: "Quota", snapshot })
      }
    } else if (type === "response.output_item.done") {
      output.push(json.item)
    } else if (type === "response.created") {
      const response = json.response as { id?: unknown } | undefined
      if (typeof response?.id === "string") responseId = response.id
    }
    source.pushText(sseText(type, text))
    observer.event(json)
    if (type === "error" || END_TYPES.has(type)) {
      const completed = type === "response.completed" || type === "response.done"
      const id = (json.response as { id?: unknown } | undefined)?.id ?? responseId
      end(completed)
      if (completed && ctx.chaining && typeof id === "string") socket.chain = chainAfter(request.json, id, output)
      source.close()
    }
  }
  socket.onClosed = (code, reason) => {
    if (ended) return
    end(false)
    if (commit.sawOutput) source.fail(new Error(`socket closed mid-response (${code} ${reason})`))
    else source.fail(new SocketClosedEarly({ code, reason }))
  }
  try {
    socket.conn.send(
      createFrame(plan.json, !plan.chained && typeof request.body === "string" ? request.body : undefined),
    )
  } catch (error) {
    end(false)
    return Promise.reject(new SocketClosedEarly({ code: 1006, reason: String(error) }))
  }
  return commit.run(source.stream, {
    transport: ctx.kind,
    // what the caller builds a `Response` from: 101 is not a valid status there
    status: 200,
    headers: socket.conn.headers,
    signal,
    firstByteTimeoutMs: ctx.http.firstByteTimeoutMs,
    idleTimeoutMs: ctx.http.idleTimeoutMs,
  })
}

const connect = async (ctx: WsContext, request: TransportRequest, signal: AbortSignal): Promise<PooledSocket> => {
  const headers = handshakeHeaders(request.headers)
  try {
    const conn = await ctx.connector(websocketUrl(request.url), headers, {
      signal,
      connectTimeoutMs: ctx.connectTimeoutMs,
    })
    return ctx.pool.adopt(request.accountKey, request.sessionKey, request.headers.authorization ?? "", conn)
  } catch (error) {
    if (error instanceof UpgradeRejected) {
      const failure = classifyHttp(error.status, error.body, error.headers)
      const quota = quotaFromHeaders(error.headers, ctx.http.now())
      throw new PreOutputFailure({
        failure,
        status: error.status,
        headers: { ...error.headers },
        ...(quota === undefined ? {} : { quota }),
      })
    }
    if (error instanceof TransportTimeout || (typeof error === "object" && error !== null && "_tag" in error)) {
      throw error
    }
    throw new ConnectFailure({ message: error instanceof Error ? error.message : String(error), cause: error })
  }
}

export const sendWebSocket = async (
  ctx: WsContext,
  request: TransportRequest,
  onEvent: StreamEventListener,
  cancel?: AbortSignal,
): Promise<TransportResponse> => {
  const controller = new AbortController()
  const abort = () => controller.abort()
  request.signal?.addEventListener("abort", abort, { once: true })
  cancel?.addEventListener("abort", abort, { once: true })
  if (request.signal?.aborted || cancel?.aborted) controller.abort()
  const viaHttp = () => sendHttp(request, onEvent, ctx.http, cancel)
  const authorization = request.headers.authorization ?? ""
  try {
    for (let attempt = 0; ; attempt++) {
      const leased = attempt === 0 ? ctx.pool.lease(request.accountKey, request.sessionKey, authorization) : undefined
      if (leased === "busy" && ctx.fallbackToHttp) return await viaHttp()
      let socket: PooledSocket
      try {
        socket = leased === undefined || leased === "busy" ? await connect(ctx, request, controller.signal) : leased
      } catch (error) {
        const refused =
          error instanceof ConnectFailure || error instanceof PreOutputFailure || error instanceof TransportTimeout
        if (refused && ctx.fallbackToHttp && !controller.signal.aborted) return await viaHttp()
        throw error
      }
      try {
        return await respond(ctx, socket, request, onEvent, controller.signal)
      } catch (error) {
        if (error instanceof ReconnectRequested) {
          if (attempt === 0) continue
          throw new PreOutputFailure({ failure: error.failure, status: 200, headers: { ...socket.conn.headers } })
        }
        if (error instanceof SocketClosedEarly) {
          if (ctx.fallbackToHttp && !controller.signal.aborted) return await viaHttp()
          throw new PreOutputFailure({
            failure: new Transient({ message: `socket closed before output (${error.code})` }),
            status: 200,
            headers: { ...socket.conn.headers },
          })
        }
        throw error
      }
    }
  } finally {
    cancel?.removeEventListener("abort", abort)
  }
}

export const makeWebSocketTransport = Effect.fnUntraced(function* (options: WebSocketTransportOptions = {}) {
  const clock = yield* Effect.clockWith(Effect.succeed)
  const pool = yield* WsPool.make(options)
  const ctx: WsContext = {
    pool,
    connector: options.connector ?? nativeConnector,
    kind: options.kind ?? "websocket",
    connectTimeoutMs: options.connectTimeoutMs ?? 15_000,
    fallbackToHttp: options.fallbackToHttp ?? true,
    chaining: options.chaining ?? true,
    http: resolveHttpOptions({ now: () => clock.currentTimeMillisUnsafe(), ...options }),
  }
  const send = Effect.fn("WebSocketTransport.send")(function* (
    request: TransportRequest,
    onEvent: StreamEventListener,
  ) {
    return yield* Effect.tryPromise({
      try: (signal) => sendWebSocket(ctx, request, onEvent, signal),
      catch: toTransportError,
    })
  })
  return { transport: Transport.of({ kind: ctx.kind, send }), pool }
})

const layerWith = (options: WebSocketTransportOptions = {}): Layer.Layer<Transport> =>
  Layer.effect(
    Transport,
    Effect.map(makeWebSocketTransport(options), (made) => made.transport),
  )

export const WebSocketTransport = {
  make: makeWebSocketTransport,
  layerWith,
  layer: layerWith(),
} as const
