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
  connectRawSocket,
  type RawSocket,
  RawSocketError,
  type RawSocketImplementation,
  type RawTlsOptions,
} from "./RawSocket.ts"
import type { EarlyWriteOptions } from "./RawSocketBun.ts"
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

const toConnectError = (error: unknown, afterMs: number): unknown => {
  if (!(error instanceof RawSocketError)) return error
  if (error.phase === "timeout") return new TransportTimeout({ phase: "connect", afterMs })
  if (error.phase === "aborted") return new TransportAborted()
  return error
}

export const connectRawWebSocket = async (
  rawUrl: string,
  headers: Readonly<Record<string, string>>,
  options: RawWebSocketOptions,
): Promise<WsConnection> => {
  const target = parseTarget(rawUrl)
  if (typeof target === "string") throw new Error(target)
  const started = performance.now()
  // set right after the connect starts, before any socket callback can run
  let parser!: HandshakeParser
  const where = `${target.host}:${target.port}`
  // bytes (or a close) arriving between the end of the handshake and the connection taking over
  const early: Array<Uint8Array> = []
  let earlyClose: { error?: Error } | undefined
  let outcome: HandshakeResult | Error | undefined
  let wake: (() => void) | undefined
  const complete = (result: HandshakeResult | Error) => {
    if (outcome !== undefined) return
    outcome = result
    onData = (chunk) => early.push(chunk.slice())
    onSocketClose = (error) => {
      earlyClose = error === undefined ? {} : { error }
    }
    wake?.()
  }
  // the upgrade request goes out from the socket's own open callback, so the answer is parsed from its
  // first byte on, even if it lands before the connect's promise chain has resumed here
  let onData = (chunk: Uint8Array) => {
    const result = parser.push(chunk)
    if (result !== undefined) complete(result)
  }
  let onSocketClose = (error?: Error) =>
    complete(
      error === undefined
        ? parser.end()
        : new Error(`connection to ${where} lost during the handshake: ${error.message}`),
    )
  const socketOptions: EarlyWriteOptions = {
    host: target.host,
    port: target.port,
    tls: target.secure ? (options.tls ?? true) : false,
    connectTimeoutMs: options.connectTimeoutMs,
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
    ...(options.implementation !== undefined ? { implementation: options.implementation } : {}),
  }
  const connecting = connectRawSocket(socketOptions, {
    onData: (chunk) => onData(chunk),
    onClose: (error) => onSocketClose(error),
  })
  // built while the TCP connect is in flight; the socket sends it from its open callback
  const key = makeKey()
  const request = buildRequest(target.url, headers, key)
  if (typeof request === "string") {
    connecting.then(
      (socket) => socket.destroy(),
      () => {},
    )
    throw new Error(`cannot build the upgrade request: ${request}`)
  }
  parser = new HandshakeParser(key)
  socketOptions.firstWrite = request
  let socket: RawSocket
  try {
    socket = await connecting
  } catch (error) {
    throw toConnectError(error, options.connectTimeoutMs)
  }

  if (outcome === undefined) {
    const remaining = Math.max(1, options.connectTimeoutMs - (performance.now() - started))
    const onAbort = () => complete(new TransportAborted())
    let timer: ReturnType<typeof setTimeout> | undefined
    await new Promise<void>((resolve) => {
      wake = resolve
      timer = setTimeout(
        () => complete(new TransportTimeout({ phase: "connect", afterMs: options.connectTimeoutMs })),
        remaining,
      )
      options.signal?.addEventListener("abort", onAbort, { once: true })
      if (options.signal?.aborted) onAbort()
    })
    clearTimeout(timer)
    options.signal?.removeEventListener("abort", onAbort)
  }
  if (outcome === undefined) throw new Error(`WebSocket handshake with ${where} ended without an outcome`)

  if (outcome instanceof Error || outcome._tag !== "Upgraded") socket.destroy()
  if (outcome instanceof Error) throw outcome
  if (outcome._tag === "Rejected") {
    throw new UpgradeRejected({ status: outcome.status, headers: outcome.headers, body: outcome.body })
  }
  if (outcome._tag === "Invalid") throw new Error(`WebSocket handshake with ${where} failed: ${outcome.message}`)
  return openConnection(socket, outcome.headers, outcome.rest, options, (data, close) => {
    onData = data
    onSocketClose = close
    for (const chunk of early.splice(0)) data(chunk)
    if (earlyClose !== undefined) close(earlyClose.error)
  })
}

const openConnection = (
  socket: RawSocket,
  headers: Record<string, string>,
  rest: Uint8Array,
  options: RawWebSocketOptions,
  attach: (onData: (chunk: Uint8Array) => void, onClose: (error?: Error) => void) => void,
): WsConnection => {
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
  if (rest.length > 0) onData(rest)
  attach(onData, (error) => {
    socketGone = true
    if (closeTimer !== undefined) clearTimeout(closeTimer)
    closeTimer = undefined
    if (state === CLOSED) return
    finish(
      CloseCode.Abnormal,
      error === undefined ? "connection closed without a close frame" : `connection lost: ${error.message}`,
    )
  })

  return {
    status: 101,
    headers,
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
}

/** A connector with fixed defaults (TLS options for tests, a forced socket implementation, limits). */
export const makeRawConnector =
  (defaults: RawWebSocketDefaults = {}): WsConnector =>
  (url, headers, options) =>
    connectRawWebSocket(url, headers, { ...defaults, ...options })

export const rawConnector: WsConnector = makeRawConnector()
