/**
 * The smallest WebSocket surface the WebSocket transport needs, so that the runtime's `WebSocket` and the
 * hand-rolled RFC 6455 client are interchangeable: a connector opens a socket (or refuses), a connection
 * sends text frames and reports text frames and the close.
 *
 * A connect is an Effect that acquires the connection in the current scope (closing the scope closes it) and
 * may be interrupted (a deadline, an abort) until it has: the connect deadline is the caller's
 * (`Effect.timeout`), not the connector's. The connection itself is callback code: its frames are the byte path.
 *
 * CONTRACT: shared by the native and raw WebSocket transports. Add only.
 */
import { Effect, Schema, type Scope } from "effect"
import { ConnectFailure } from "./Transport.ts"

export interface WsConnection {
  /** 101 */
  readonly status: number
  /** upgrade response headers (lower-case; `{}` when the runtime does not expose them) */
  readonly headers: Readonly<Record<string, string>>
  send(text: string): void
  close(code?: number, reason?: string): void
  /** every text frame, as it arrives (those that arrived before the first listener included) */
  onMessage(listener: (text: string) => void): void
  /** once, after every message that came before the close */
  onClose(listener: (code: number, reason: string) => void): void
}

/** A connect refused with an HTTP answer, or one that failed without any. */
export type WsConnectError = UpgradeRejected | ConnectFailure

export type WsConnector = (
  url: string,
  headers: Readonly<Record<string, string>>,
) => Effect.Effect<WsConnection, WsConnectError, Scope.Scope>

/** The server answered the upgrade with a normal HTTP response (401, 426, 429, 5xx ...). */
export class UpgradeRejected extends Schema.TaggedError<UpgradeRejected>()("UpgradeRejected", {
  status: Schema.Number,
  headers: Schema.Record(Schema.String, Schema.String),
  body: Schema.String,
}) {}

/** Bun's constructor takes `{ headers, tls }`; the DOM typings do not know that. */
type WebSocketWithHeaders = new (
  url: string,
  options: { headers: Record<string, string>; tls?: NativeTlsOptions },
) => WebSocket

export interface NativeTlsOptions {
  /** PEM certificate(s) to trust besides the system store */
  readonly ca?: string
  readonly rejectUnauthorized?: boolean
}

/**
 * The runtime's global `WebSocket`. It cannot show the upgrade response, so a refused upgrade is a
 * `ConnectFailure` and `headers` is always `{}`.
 */
export const makeNativeConnector =
  (tls?: NativeTlsOptions): WsConnector =>
  (url, headers) =>
    Effect.acquireRelease(openNative(url, headers, tls), (conn) => Effect.sync(() => conn.close()), {
      interruptible: true,
    })

const openNative = (url: string, headers: Readonly<Record<string, string>>, tls: NativeTlsOptions | undefined) =>
  Effect.callback<WsConnection, ConnectFailure>((resume) => {
    const ws = new (WebSocket as unknown as WebSocketWithHeaders)(
      url,
      tls === undefined
        ? { headers: headers as Record<string, string> }
        : { headers: headers as Record<string, string>, tls },
    )
    ws.binaryType = "arraybuffer"
    const messageListeners: Array<(text: string) => void> = []
    const closeListeners: Array<(code: number, reason: string) => void> = []
    /** messages that arrived before the first listener; the close waits for them */
    let pending: Array<string> | undefined
    let opened = false
    let closed: { code: number; reason: string } | undefined
    const reportClose = () => {
      if (closed === undefined) return
      for (const listener of closeListeners.splice(0)) listener(closed.code, closed.reason)
    }
    const settleFailure = (message: string) => {
      if (opened) return
      opened = true
      try {
        ws.close()
      } catch {}
      resume(Effect.fail(new ConnectFailure({ message })))
    }
    ws.onopen = () => {
      if (opened) return
      opened = true
      resume(Effect.succeed(connection))
    }
    ws.onerror = () => settleFailure(`WebSocket connection to ${url} failed`)
    ws.onmessage = (event) => {
      if (typeof event.data !== "string") {
        // binary frames are not part of the protocol: treat the socket as broken
        ws.close(1003, "binary frame")
        return
      }
      if (messageListeners.length > 0) for (const listener of messageListeners) listener(event.data)
      else if (pending === undefined) pending = [event.data]
      else pending.push(event.data)
    }
    ws.onclose = (event) => {
      if (!opened) return settleFailure(`WebSocket closed before open (${event.code})`)
      if (closed !== undefined) return
      closed = { code: event.code, reason: event.reason }
      if (pending === undefined) reportClose()
    }
    const connection: WsConnection = {
      status: 101,
      headers: {},
      send: (text) => ws.send(text),
      close: (code, reason) => {
        try {
          ws.close(code ?? 1000, reason)
        } catch {
          ws.close()
        }
      },
      onMessage: (listener) => {
        messageListeners.push(listener)
        if (pending === undefined) return
        const held = pending
        pending = undefined
        for (const text of held) listener(text)
        reportClose()
      },
      onClose: (listener) => {
        closeListeners.push(listener)
        if (pending === undefined) reportClose()
      },
    }
    // interrupted before the open: the socket goes, nothing more is reported
    return Effect.sync(() => {
      if (opened) return
      opened = true
      ws.close()
    })
  })

export const nativeConnector: WsConnector = makeNativeConnector()
