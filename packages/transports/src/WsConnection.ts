/**
 * The smallest WebSocket surface the WebSocket transport needs, so that the runtime's `WebSocket` and the
 * hand-rolled RFC 6455 client are interchangeable: a connector opens a socket (or refuses), a connection
 * sends text frames and reports text frames and the close.
 *
 * CONTRACT: shared by the native and raw WebSocket transports. Add only.
 */
import { Schema } from "effect"
import { TransportAborted, TransportTimeout } from "./Transport.ts"

export interface WsConnection {
  /** 101 */
  readonly status: number
  /** upgrade response headers (lower-case; `{}` when the runtime does not expose them) */
  readonly headers: Readonly<Record<string, string>>
  send(text: string): void
  close(code?: number, reason?: string): void
  /** every text frame, as it arrives */
  onMessage(listener: (text: string) => void): void
  onClose(listener: (code: number, reason: string) => void): void
}

export interface WsConnectOptions {
  readonly signal?: AbortSignal
  readonly connectTimeoutMs: number
}

/**
 * Rejects with `UpgradeRejected` when the server answered the upgrade with an HTTP status, with
 * `TransportTimeout { phase: "connect" }` / `TransportAborted`, or with a plain error for anything else.
 */
export type WsConnector = (
  url: string,
  headers: Record<string, string>,
  options: WsConnectOptions,
) => Promise<WsConnection>

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
 * The runtime's global `WebSocket`. It cannot show the upgrade response, so a refused upgrade is a plain
 * error and `headers` is always `{}`.
 */
export const makeNativeConnector =
  (tls?: NativeTlsOptions): WsConnector =>
  (url, headers, options) =>
    openNative(url, headers, options, tls)

const openNative = (
  url: string,
  headers: Record<string, string>,
  options: WsConnectOptions,
  tls: NativeTlsOptions | undefined,
) =>
  new Promise<WsConnection>((resolve, reject) => {
    if (options.signal?.aborted) return reject(new TransportAborted())
    const ws = new (WebSocket as unknown as WebSocketWithHeaders)(
      url,
      tls === undefined ? { headers } : { headers, tls },
    )
    ws.binaryType = "arraybuffer"
    const messageListeners: Array<(text: string) => void> = []
    const closeListeners: Array<(code: number, reason: string) => void> = []
    let opened = false
    let closed: { code: number; reason: string } | undefined
    const settleFailure = (error: unknown) => {
      if (opened) return
      opened = true
      cleanup()
      try {
        ws.close()
      } catch {}
      reject(error)
    }
    const onAbort = () => settleFailure(new TransportAborted())
    const timer = setTimeout(
      () => settleFailure(new TransportTimeout({ phase: "connect", afterMs: options.connectTimeoutMs })),
      options.connectTimeoutMs,
    )
    const cleanup = () => {
      clearTimeout(timer)
      options.signal?.removeEventListener("abort", onAbort)
    }
    options.signal?.addEventListener("abort", onAbort, { once: true })
    ws.onopen = () => {
      if (opened) return
      opened = true
      cleanup()
      resolve(connection)
    }
    ws.onerror = () => settleFailure(new Error(`WebSocket connection to ${url} failed`))
    ws.onmessage = (event) => {
      if (typeof event.data !== "string") {
        // binary frames are not part of the protocol: treat the socket as broken
        ws.close(1003, "binary frame")
        return
      }
      for (const listener of messageListeners) listener(event.data)
    }
    ws.onclose = (event) => {
      if (!opened) return settleFailure(new Error(`WebSocket closed before open (${event.code})`))
      if (closed !== undefined) return
      closed = { code: event.code, reason: event.reason }
      for (const listener of closeListeners) listener(event.code, event.reason)
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
      },
      onClose: (listener) => {
        if (closed !== undefined) listener(closed.code, closed.reason)
        else closeListeners.push(listener)
      },
    }
  })

export const nativeConnector: WsConnector = makeNativeConnector()
