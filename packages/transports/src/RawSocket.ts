/**
 * The few socket operations the raw WebSocket client needs, over either `Bun.connect` or `node:net`/`node:tls`.
 * The implementation is picked at run time (Bun when `Bun` exists) and can be forced, so that tests run both
 * under Bun. Implementations are loaded lazily: the Node one pulls in `node:tls` only when used.
 *
 * A starter is callback-driven and synchronous: the WebSocket client writes its upgrade request from `onOpen`
 * and finishes its handshake inside `onData`, with no promise hop on the way (each hop is a trip through the
 * microtask queue on the time-to-first-event path). The client loads its starter once and keeps it.
 */
import { Schema } from "effect"

export interface RawSocket {
  /** queues bytes; never throws (a write on a dead socket is dropped, its close was already reported) */
  readonly write: (data: Uint8Array) => void
  /** queues `bytes[start, end)`, read during the call only: what cannot be sent at once is copied */
  readonly writeTransient: (bytes: Uint8Array, start: number, end: number) => void
  /** half-closes after pending writes flush */
  readonly end: () => void
  readonly destroy: () => void
}

export interface RawSocketHandlers {
  readonly onData: (chunk: Uint8Array) => void
  /** called exactly once, after the socket connected; `error` when it died rather than closed */
  readonly onClose: (error?: Error) => void
}

export interface RawSocketStartHandlers extends RawSocketHandlers {
  /** connected (and, for TLS, the peer verified): the socket is usable from here */
  readonly onOpen: (socket: RawSocket) => void
  /** instead of `onOpen`: the connect or the TLS handshake failed; nothing else is called afterwards */
  readonly onConnectError: (error: RawSocketError) => void
}

export interface RawTlsOptions {
  readonly rejectUnauthorized?: boolean
  /** extra trusted certificates (PEM), e.g. a test's self-signed one */
  readonly ca?: string | ReadonlyArray<string>
  readonly servername?: string
}

export type RawSocketImplementation = "bun" | "node"

export interface RawSocketTarget {
  readonly host: string
  readonly port: number
  /** `false` for plain TCP; `true` or options for TLS */
  readonly tls: boolean | RawTlsOptions
}

/** A connect in progress (or the open socket): `cancel` kills it without any further callback. */
export interface PendingRawSocket {
  readonly cancel: () => void
}

/** A connection's life, shared by both starters: connecting, open, closed (never reopened). */
export const CONNECTING = 0
export const OPEN = 1
export const CLOSED = 2

export type RawSocketStarter = (target: RawSocketTarget, handlers: RawSocketStartHandlers) => PendingRawSocket

/** The connect or the TLS handshake failed. */
export class RawSocketError extends Schema.TaggedError<RawSocketError>()("RawSocketError", {
  phase: Schema.Literals(["connect", "tls"]),
  message: Schema.String,
  cause: Schema.optional(Schema.Defect()),
}) {}

export const defaultImplementation = (): RawSocketImplementation =>
  typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "node"

/** The implementation's starter, loaded on first use (the Node one pulls in `node:tls`). */
export const loadRawSocket = (implementation: RawSocketImplementation): Promise<RawSocketStarter> =>
  implementation === "bun"
    ? import("./RawSocketBun.ts").then((m) => m.startBun)
    : import("./RawSocketNode.ts").then((m) => m.startNode)
