/**
 * A hand-rolled RFC 6455 client as a `WsConnector`: RawSocket + Handshake + FrameDecoder. Unlike the runtime's
 * `WebSocket` it shows the upgrade response (status, headers, and the body of a refusal, which carries the
 * 429 `usage_limit_reached` details), and every way a peer can misbehave ends in a close with a clear reason
 * instead of a hang: connect+handshake share one deadline, a frame or fragmented message that stops half-way
 * is failed after `stallTimeoutMs`, and our own close waits at most `closeTimeoutMs` for the peer's answer.
 */
import { CloseCode, encodeClose, encodePong, encodeText } from "./Frame.ts"
import { FrameDecoder } from "./FrameDecoder.ts"
import { buildRequest, HandshakeParser, type HandshakeResult, makeKey } from "./Handshake.ts"
import {
  loadRawSocket,
  type PendingRawSocket,
  type RawSocket,
  type RawSocketImplementation,
  type RawSocketStarter,
  type RawTlsOptions,
} from "./RawSocket.ts"
import { TransportAborted, TransportTimeout } from "./Transport.ts"
import { UpgradeRejected, type WsConnection, type WsConnector } from "./WsConnection.ts"

export interface RawWebSocketOptions {
  /** one deadline for TCP connect, TLS and the upgrade response */
  readonly connectTimeoutMs: number
  readonly signal?: AbortSignal
  /** defaults to Bun when running on Bun */
  readonly implementation?: RawSocketImplementation
  readonly tls?: RawTlsOptions
  /** default 64 MiB */
  readonly maxMessageBytes?: number
  /** a frame or fragmented message that stops half-way fails the connection after this long (default 60 s) */
  readonly stallTimeoutMs?: number
  /** no byte at all for this long fails the connection (default: off, a pooled socket idles between turns) */
  readonly idleTimeoutMs?: number
  /** how long our close waits for the peer's close frame (default 5 s) */
  readonly closeTimeoutMs?: number
}

export type RawWebSocketDefaults = Omit<RawWebSocketOptions, "connectTimeoutMs" | "signal">

const OPEN = 0
const CLOSING = 1
const CLOSED = 2

interface Target {
  readonly url: URL
  readonly host: string
  readonly port: number
  readonly secure: boolean
}

/** Pooled sockets reconnect to the same endpoint: its parse is kept (a `Target` is never mutated). */
let lastTarget: { readonly raw: string; readonly target: Target } | undefined

const parseTarget = (raw: string): Target | string => {
  if (lastTarget?.raw === raw) return lastTarget.target
  const parsed = parseTargetUncached(raw)
  if (typeof parsed !== "string") lastTarget = { raw, target: parsed }
  return parsed
}

const parseTargetUncached = (raw: string): Target | string => {
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return `invalid WebSocket URL ${JSON.stringify(raw)}`
  }
  const secure = url.protocol === "wss:" || url.protocol === "https:"
  if (!secure && url.protocol !== "ws:" && url.protocol !== "http:") return `unsupported scheme ${url.protocol}`
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname
  return { url, host, port: url.port === "" ? (secure ? 443 : 80) : Number(url.port), secure }
}

/**
 * Connect, upgrade and hand over, driven by the socket's own callbacks: the upgrade request is written from
 * the open callback and the connection is built and resolved inside the data callback that completes the
 * 101, so the caller's first `send` runs in that same event-loop turn (one microtask hop, no more). Once
 * the implementation module is loaded this runs synchronously up to the socket callbacks.
 */
export const connectRawWebSocket = (
  rawUrl: string,
  headers: Readonly<Record<string, string>>,
  options: RawWebSocketOptions,
): Promise<WsConnection> => {
  const target = parseTarget(rawUrl)
  if (typeof target === "string") return Promise.reject(new Error(target))
  if (options.signal?.aborted) return Promise.reject(new TransportAborted())
  const start = loadRawSocket(options.implementation)
  return start instanceof Promise
    ? start.then((loaded) => upgrade(loaded, target, headers, options))
    : upgrade(start, target, headers, options)
}

const upgrade = (
  start: RawSocketStarter,
  target: Target,
  headers: Readonly<Record<string, string>>,
  options: RawWebSocketOptions,
): Promise<WsConnection> =>
  new Promise<WsConnection>((resolve, reject) => {
    if (options.signal?.aborted) return reject(new TransportAborted())
    // built before connecting: a header that would break the request never opens a socket
    const key = makeKey()
    const request = buildRequest(target.url, headers, key)
    if (typeof request === "string") return reject(new Error(`cannot build the upgrade request: ${request}`))
    const parser = new HandshakeParser(key)
    const where = `${target.host}:${target.port}`
    let done = false
    let socket: RawSocket | undefined
    let pending: PendingRawSocket | undefined
    let live: LiveConnection | undefined
    const settle = () => {
      done = true
      clearTimeout(timer)
      options.signal?.removeEventListener("abort", onAbort)
    }
    const fail = (error: unknown) => {
      if (done) return
      settle()
      pending?.cancel()
      reject(error)
    }
    const onAbort = () => fail(new TransportAborted())
    // one deadline for TCP connect, TLS and the upgrade response
    const timer = setTimeout(
      () => fail(new TransportTimeout({ phase: "connect", afterMs: options.connectTimeoutMs })),
      options.connectTimeoutMs,
    )
    options.signal?.addEventListener("abort", onAbort, { once: true })
    const complete = (result: HandshakeResult) => {
      if (result._tag === "Upgraded") {
        settle()
        // the result, not its headers: they are parsed only when the connection's `headers` is read
        live = openConnection(socket as RawSocket, result, options)
        return resolve(live.connection)
      }
      if (result._tag === "Rejected") {
        return fail(new UpgradeRejected({ status: result.status, headers: result.headers, body: result.body }))
      }
      fail(new Error(`WebSocket handshake with ${where} failed: ${result.message}`))
    }
    pending = start(
      { host: target.host, port: target.port, tls: target.secure ? (options.tls ?? true) : false },
      {
        onOpen: (opened) => {
          socket = opened
          opened.write(request)
        },
        onData: (chunk) => {
          if (live !== undefined) return live.onData(chunk)
          if (done) return
          const result = parser.push(chunk)
          if (result !== undefined) complete(result)
        },
        onClose: (error) => {
          if (live !== undefined) return live.onClose(error)
          if (done) return
          if (error === undefined) complete(parser.end())
          else fail(new Error(`connection to ${where} lost during the handshake: ${error.message}`))
        },
        onConnectError: fail,
      },
    )
  })

interface LiveConnection {
  readonly connection: WsConnection
  readonly onData: (chunk: Uint8Array) => void
  readonly onClose: (error?: Error) => void
}

const openConnection = (
  socket: RawSocket,
  upgraded: { readonly headers: Record<string, string>; readonly rest: Uint8Array },
  options: RawWebSocketOptions,
): LiveConnection => {
  const messageListeners: Array<(text: string) => void> = []
  const closeListeners: Array<(code: number, reason: string) => void> = []
  const pending: Array<string> = []
  let closedWith: { code: number; reason: string } | undefined
  let state = OPEN
  let lastDataAt = performance.now()
  const stallMs = options.stallTimeoutMs ?? 60_000
  const idleMs = options.idleTimeoutMs
  const closeMs = options.closeTimeoutMs ?? 5_000
  let watchTimer: ReturnType<typeof setTimeout> | undefined
  let closeTimer: ReturnType<typeof setTimeout> | undefined
  let socketGone = false

  const finish = (code: number, reason: string) => {
    if (state === CLOSED) return
    state = CLOSED
    if (watchTimer !== undefined) clearTimeout(watchTimer)
    watchTimer = undefined
    closedWith = { code, reason }
    for (const listener of closeListeners) listener(code, reason)
    // after the close is reported, the socket only needs to go away
    if (socketGone) return
    if (closeTimer === undefined) closeTimer = setTimeout(() => socket.destroy(), closeMs)
    socket.end()
  }

  /** Fails the connection: tell the peer why (best effort) and report the same code and reason. */
  const fail = (code: number, reason: string) => {
    if (state === CLOSED) return
    socket.write(encodeClose(code, reason))
    finish(code, reason)
  }

  const decoder = new FrameDecoder(
    {
      onText: (text) => {
        if (state === CLOSED) return
        const count = messageListeners.length
        if (count === 0) pending.push(text)
        else if (count === 1) (messageListeners[0] as (text: string) => void)(text)
        else for (let i = 0; i < count; i++) (messageListeners[i] as (text: string) => void)(text)
      },
      onBinary: () => fail(CloseCode.UnsupportedData, "binary frame"),
      onPing: (payload) => {
        if (state !== CLOSED) socket.write(encodePong(payload))
      },
      onPong: () => {},
      onClose: (code, reason) => {
        // echo the peer's close unless this already answers ours
        if (state === OPEN) socket.write(code === CloseCode.NoStatus ? encodeClose() : encodeClose(code))
        finish(code, reason)
      },
      onError: fail,
    },
    options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {},
  )

  /** One timer checks both watchdogs; it re-arms itself rather than being reset on every chunk. */
  const watch = () => {
    watchTimer = undefined
    if (state === CLOSED) return
    const quiet = performance.now() - lastDataAt
    if (decoder.midMessage && quiet >= stallMs) {
      return fail(CloseCode.Abnormal, `peer stalled mid-message: no data for ${Math.round(quiet)} ms`)
    }
    if (idleMs !== undefined && quiet >= idleMs) {
      return fail(CloseCode.Abnormal, `idle timeout: no data for ${Math.round(quiet)} ms`)
    }
    const next = Math.min(stallMs, idleMs ?? stallMs)
    watchTimer = setTimeout(watch, Math.max(1, next - quiet))
    // the socket, not this watchdog, decides whether the process stays alive
    ;(watchTimer as { unref?: () => void }).unref?.()
  }

  const onData = (chunk: Uint8Array) => {
    if (state === CLOSED) return
    lastDataAt = performance.now()
    decoder.push(chunk)
  }
  watchTimer = setTimeout(watch, Math.min(stallMs, idleMs ?? stallMs))
  ;(watchTimer as { unref?: () => void }).unref?.()
  if (upgraded.rest.length > 0) onData(upgraded.rest)
  const onClose = (error?: Error) => {
    socketGone = true
    if (closeTimer !== undefined) clearTimeout(closeTimer)
    closeTimer = undefined
    if (state === CLOSED) return
    finish(
      CloseCode.Abnormal,
      error === undefined ? "connection closed without a close frame" : `connection lost: ${error.message}`,
    )
  }

  const connection: WsConnection = {
    status: 101,
    get headers() {
      return upgraded.headers
    },
    send: (text) => {
      if (state === OPEN) socket.write(encodeText(text))
    },
    close: (code = CloseCode.Normal, reason = "") => {
      if (state !== OPEN) return
      state = CLOSING
      socket.write(encodeClose(code, reason))
      closeTimer = setTimeout(() => {
        closeTimer = undefined
        finish(CloseCode.Abnormal, `close handshake timed out after ${closeMs} ms`)
        socket.destroy()
      }, closeMs)
    },
    onMessage: (listener) => {
      messageListeners.push(listener)
      if (pending.length > 0) for (const text of pending.splice(0)) listener(text)
    },
    onClose: (listener) => {
      if (closedWith !== undefined) listener(closedWith.code, closedWith.reason)
      else closeListeners.push(listener)
    },
  }
  return { connection, onData, onClose }
}

/** A connector with fixed defaults (TLS options for tests, a forced socket implementation, limits). */
export const makeRawConnector = (defaults: RawWebSocketDefaults = {}): WsConnector =>
  Object.keys(defaults).length === 0
    ? (url, headers, options) => connectRawWebSocket(url, headers, options)
    : (url, headers, options) => connectRawWebSocket(url, headers, { ...defaults, ...options })

export const rawConnector: WsConnector = makeRawConnector()
