/**
 * The one service every transport implements: send a prepared Codex request, get back the answer as an SSE
 * byte stream (what the AI SDK reads), and report quota, response id, usage, first output and terminal errors
 * on the side.
 *
 * Commit point: `send` succeeds only once the attempt is committed, that is once the first output event
 * arrived or the stream ended cleanly without output. Everything the server said before that is held back
 * and replayed into `body`, so a refusal before output (an HTTP error status, `response.failed`, a
 * WebSocket `error` frame, a dropped socket) is a `TransportError` the accounts layer may retry on another
 * account, and nothing has reached the caller yet. After the commit, bytes pass through untouched and
 * failures only show up in the stream and as a `Terminal` event.
 *
 * CONTRACT: shared by transports, accounts and opencode. Add only.
 */
import type { CodexFailure } from "@cortexkit/openai-auth-core/CodexError"
import type { QuotaSnapshot } from "@cortexkit/openai-auth-core/Quota"
import type { StreamEventListener } from "@cortexkit/openai-auth-core/StreamEvent"
import type { Effect } from "effect"
import { Schema } from "effect"

export type TransportKind = "http" | "websocket" | "raw-websocket"

export interface TransportRequest {
  /** the Codex endpoint (`https:`/`http:`); WebSocket transports derive `wss:`/`ws:` from it */
  readonly url: string
  /** every header to send, names lower-case, already including Authorization and the identity headers */
  readonly headers: Readonly<Record<string, string>>
  /**
   * the exact, byte-stable JSON body: text as the rewrite makes it (the runtime's `fetch` encodes it natively,
   * faster than a copy of the previous turn's bytes would be), or bytes
   */
  readonly body: string | Uint8Array
  /** the same body, parsed (WebSocket transports build `response.create` frames and chains from it) */
  readonly json: Readonly<Record<string, unknown>>
  /** who is sending: pools and chains never cross accounts */
  readonly accountKey: string
  /** which conversation (the prompt cache key): pools and chains are per session */
  readonly sessionKey: string
  readonly signal?: AbortSignal
}

export interface TransportResponse {
  readonly transport: TransportKind
  readonly status: number
  /** response headers, names lower-case (for WebSocket: the upgrade response's headers) */
  readonly headers: Readonly<Record<string, string>>
  /** SSE bytes: `event: <type>\ndata: <json>\n\n` */
  readonly body: ReadableStream<Uint8Array>
}

/** The server refused before any output reached the caller: safe to try another account. */
export class PreOutputFailure extends Schema.TaggedError<PreOutputFailure>()("PreOutputFailure", {
  failure: Schema.Any as Schema.Schema<CodexFailure>,
  status: Schema.Number,
  headers: Schema.Record(Schema.String, Schema.String),
  quota: Schema.optional(Schema.Any as Schema.Schema<QuotaSnapshot>),
}) {}

/** No answer at all: connection refused/reset, TLS or handshake failure. */
export class ConnectFailure extends Schema.TaggedError<ConnectFailure>()("ConnectFailure", {
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
}) {}

export class TransportTimeout extends Schema.TaggedError<TransportTimeout>()("TransportTimeout", {
  phase: Schema.Literals(["connect", "first-byte", "idle"]),
  afterMs: Schema.Number,
}) {}

export class TransportAborted extends Schema.TaggedError<TransportAborted>()("TransportAborted", {}) {}

export type TransportError = PreOutputFailure | ConnectFailure | TransportTimeout | TransportAborted

export interface TransportShape {
  readonly kind: TransportKind
  readonly send: (
    request: TransportRequest,
    onEvent: StreamEventListener,
  ) => Effect.Effect<TransportResponse, TransportError>
}
