/**
 * Plain data shapes of the Codex-compatible simulator. They cross process boundaries (the admin API takes and
 * returns them as JSON), so everything here is JSON-serialisable.
 */

export interface SimulatorOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one */
  readonly port?: number
  /** the public OAuth client id the authorize/token endpoints accept */
  readonly clientId?: string
  /** access-token lifetime in seconds (default 3600) */
  readonly expiresIn?: number
  /** device flow: the `interval` string returned by usercode (default "1") */
  readonly deviceInterval?: string
  /** device flow: polls answered 403 (pending) before approval (default 1) */
  readonly deviceApproveAfterPolls?: number
  /** WebSocket connections older than this answer `websocket_connection_limit_reached` (default 60 min) */
  readonly wsMaxAgeMs?: number
  /** text of the unscripted default reply */
  readonly defaultText?: string
  /** epoch-ms clock; defaults to Date.now */
  readonly now?: () => number
}

export interface AccountInit {
  readonly accountId: string
  readonly userId?: string
  readonly email?: string
  readonly plan?: string
}

export interface SimTokens {
  readonly access: string
  readonly refresh: string
  readonly idToken: string
  /** seconds */
  readonly expiresIn: number
}

export interface SimAccount {
  readonly accountId: string
  readonly userId: string
  readonly email: string
  readonly plan: string
  /** the token set minted when the account was added */
  readonly tokens: SimTokens
}

export interface ToolCallSpec {
  readonly name: string
  /** JSON text (or an object, serialised for you) */
  readonly arguments: string | Record<string, unknown>
  readonly callId?: string
}

export interface ReplySpec {
  readonly text?: string
  readonly reasoning?: string
  readonly toolCalls?: ReadonlyArray<ToolCallSpec>
  /** split `text` into this many deltas */
  readonly chunks?: number
  /** long stream for throughput benchmarks: this many identical text deltas */
  readonly deltas?: number
}

export type FaultSpec =
  | { readonly kind: "status"; readonly status: number; readonly body?: unknown }
  | { readonly kind: "usage_limit"; readonly resetsInSeconds?: number }
  | { readonly kind: "burst_429"; readonly retryAfterSeconds?: number }
  | { readonly kind: "failed_before_output"; readonly code?: string; readonly message?: string }
  /** cut the connection after N `*.delta` events; `clean` ends the body/socket orderly instead of a reset */
  | { readonly kind: "drop_mid_stream"; readonly afterDeltas: number; readonly clean?: boolean }
  | { readonly kind: "slow_first_byte"; readonly ms: number }
  | { readonly kind: "malformed_sse" }
  | { readonly kind: "ws_close"; readonly code?: number; readonly reason?: string }
  | { readonly kind: "ws_connection_limit" }

export type ScriptStep = { readonly reply: ReplySpec } | { readonly fault: FaultSpec }

export type RefreshFailure =
  | { readonly kind: "expired" }
  | { readonly kind: "invalidated" }
  | { readonly kind: "status"; readonly status: number }

export interface SimQuota {
  readonly primaryUsedPercent: number
  /** 0: the plan has no such window (sent as the retired marker / `null`) */
  readonly primaryWindowMinutes: number
  readonly primaryResetAfterSeconds: number
  readonly secondaryUsedPercent: number
  /** 0: the plan has no such window (sent as the retired marker / `null`) */
  readonly secondaryWindowMinutes: number
  readonly secondaryResetAfterSeconds: number
  readonly hasCredits: boolean
  readonly unlimited: boolean
  readonly balance: string
  readonly activeLimit: string
  /** overrides the account's plan in quota reports */
  readonly planType?: string
  /** how the credit flag headers are written: `True`/`False` (default, as live) or `1`/`0` (codex-rs reads both) */
  readonly creditFlags?: "words" | "digits"
}

export interface SimUsage {
  readonly input_tokens: number
  readonly input_tokens_details: { readonly cached_tokens: number }
  readonly output_tokens: number
  readonly output_tokens_details: { readonly reasoning_tokens: number }
  readonly total_tokens: number
}

export interface SimRequest {
  /** epoch ms */
  readonly at: number
  readonly path: string
  readonly method: string
  /** lower-case names; for WebSocket frames, the handshake headers */
  readonly headers: Readonly<Record<string, string>>
  /** parsed JSON, parsed form (object of strings), or raw text */
  readonly body: unknown
  readonly accountId?: string
  readonly transport: "http" | "ws"
  /** bytes received for this request: the HTTP body, or the WebSocket text frame's payload (UTF-8) */
  readonly bytes?: number
  /** set once a Codex response was generated for this request */
  usage?: SimUsage
  /** the id of the generated response */
  responseId?: string
  /** the HTTP status (or WS error-frame status) the simulator answered with */
  status?: number
}

export interface SimRefresh {
  readonly at: number
  readonly refreshToken: string
  readonly accountId?: string
  readonly contentType: "form" | "json"
  readonly outcome: "ok" | "reused" | "expired" | "invalidated" | "transient" | "unknown"
  readonly status: number
}

export interface DeviceSettings {
  readonly interval?: string
  readonly approveAfterPolls?: number
}
