/**
 * One response on a leased WebSocket: the `response.create` frame out (chained when it can be), every reply
 * frame re-encoded as SSE into a `PushSource`, and the commit point over it. The frame handler is the byte
 * path: most frames are deltas it forwards by a prefix match, without `JSON.parse`. Before the commit it turns
 * what the transport must act on into typed failures: the server asking for a new connection
 * (`ReconnectRequested`), the socket closing (`SocketClosedEarly`), a garbled frame (`PreOutputFailure`).
 */
import { classifyEvent, Transient } from "@cortexkit/openai-auth-core/CodexError"
import { quotaFromHeaders, quotaFromRateLimitsFrame } from "@cortexkit/openai-auth-core/Quota"
import { StreamObserver } from "@cortexkit/openai-auth-core/SseObserver"
import type { StreamEventListener } from "@cortexkit/openai-auth-core/StreamEvent"
import { Effect, Schema } from "effect"
import { CommitPoint } from "./CommitPoint.ts"
import type { ResolvedHttpOptions } from "./HttpTransport.ts"
import { PushSource } from "./PushSource.ts"
import { decodeFrame, frameType, sseText } from "./SseReencode.ts"
import {
  PreOutputFailure,
  type TransportAborted,
  type TransportKind,
  type TransportRequest,
  type TransportResponse,
  type TransportTimeout,
} from "./Transport.ts"
import { chainAfter, createFrame, planRequest } from "./WsChain.ts"
import type { PooledSocket, WsPoolShape } from "./WsPool.ts"

/** Before output, the server wants a new connection and the full input. */
export class ReconnectRequested extends Schema.TaggedError<ReconnectRequested>()("ReconnectRequested", {
  failure: Schema.Any,
  json: Schema.Unknown,
}) {}

/** The socket closed before any output (or before the request could be sent). */
export class SocketClosedEarly extends Schema.TaggedError<SocketClosedEarly>()("SocketClosedEarly", {
  code: Schema.Number,
  reason: Schema.String,
}) {}

export type RespondError =
  | PreOutputFailure
  | TransportTimeout
  | TransportAborted
  | ReconnectRequested
  | SocketClosedEarly

const RECONNECT_CODES = new Set(["websocket_connection_limit_reached", "previous_response_not_found"])
const END_TYPES = new Set(["response.completed", "response.failed", "response.incomplete", "response.done"])

const errorCode = (json: Record<string, unknown>): string | undefined => {
  const error = json.error
  const inner = typeof error === "object" && error !== null ? (error as Record<string, unknown>) : {}
  const code = inner.code ?? inner.type ?? json.code
  return typeof code === "string" ? code : undefined
}

export interface RespondContext {
  readonly pool: WsPoolShape
  readonly kind: Extract<TransportKind, "websocket" | "raw-websocket">
  readonly chaining: boolean
  readonly http: ResolvedHttpOptions
}

/** Runs one response on a busy socket, through the commit point. */
export const respond = (
  ctx: RespondContext,
  socket: PooledSocket,
  request: TransportRequest,
  onEvent: StreamEventListener,
): Effect.Effect<TransportResponse, RespondError> =>
  Effect.suspend(() => {
    // closed between its open (or its lease) and now: nothing will ever answer on it
    if (socket.closed) {
      return Effect.fail(new SocketClosedEarly({ code: 1006, reason: "closed before the request was sent" }))
    }
    const now = ctx.http.alarms.now
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
    /** what the transport must act on, when the response ended for it before output */
    let signalled: PreOutputFailure | ReconnectRequested | SocketClosedEarly | undefined
    const end = (reusable: boolean) => {
      if (ended) return
      ended = true
      if (reusable) ctx.pool.release(socket)
      else ctx.pool.retire(socket, "response failed")
    }
    // abort, timeout or the caller gave up: the answer still in flight makes the socket unusable
    const source = new PushSource(() => end(false))
    const signal = (failure: PreOutputFailure | ReconnectRequested | SocketClosedEarly) => {
      signalled = failure
      source.fail(failure)
    }
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
        const failure = new Transient({ message })
        return signal(new PreOutputFailure({ failure, status: 200, headers: { ...socket.conn.headers } }))
      }
      const { json, type } = frame
      if (type === "codex.rate_limits") {
        const snapshot = quotaFromRateLimitsFrame(json, now())
        if (snapshot !== undefined) commit.listener({ _tag: "Quota", snapshot })
        return
      }
      if (type === "error") {
        const code = errorCode(json)
        if (!commit.sawOutput && code !== undefined && RECONNECT_CODES.has(code)) {
          end(false)
          return signal(new ReconnectRequested({ failure: classifyEvent(json), json }))
        }
        const headers = json.headers
        if (typeof headers === "object" && headers !== null) {
          const snapshot = quotaFromHeaders(headers as Record<string, string>, now())
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
      else signal(new SocketClosedEarly({ code, reason }))
    }
    try {
      socket.conn.send(
        createFrame(plan.json, !plan.chained && typeof request.body === "string" ? request.body : undefined),
      )
    } catch (error) {
      end(false)
      return Effect.fail(new SocketClosedEarly({ code: 1006, reason: String(error) }))
    }
    return commit.run(source.stream, {
      transport: ctx.kind,
      // what the caller builds a `Response` from: 101 is not a valid status there
      status: 200,
      headers: socket.conn.headers,
      signal: request.signal,
      alarms: ctx.http.alarms,
      firstByteTimeoutMs: ctx.http.firstByteTimeoutMs,
      idleTimeoutMs: ctx.http.idleTimeoutMs,
      signalled: () => signalled,
    })
  })
