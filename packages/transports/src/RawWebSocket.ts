/**
 * A hand-rolled RFC 6455 client as a `WsConnector`: RawSocket + Handshake + FrameDecoder. Unlike the runtime's
 * `WebSocket` it shows the upgrade response (status, headers, and the body of a refusal, which carries the
 * 429 `usage_limit_reached` details), and every way a peer can misbehave ends in a close with a clear reason
 * instead of a hang: connect+handshake share one deadline, a frame or fragmented message that stops half-way
 * is failed after `stallTimeoutMs`, and our own close waits at most `closeTimeoutMs` for the peer's answer.
 */
import { CloseCode, encodeClose, encodePong, encodeText } from "./Frame.ts"
import { FrameDecoder, type FrameSink } from "./FrameDecoder.ts"
import { buildRequest, HandshakeParser, type HandshakeResult, prepareKey, takeKey } from "./Handshake.ts"
import {
  loadRawSocket,
  type PendingRawSocket,
  type RawSocket,
  type RawSocketError,
  type RawSocketImplementation,
  type RawSocketStarter,
  type RawSocketStartHandlers,
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
    const key = takeKey()
    const request = buildRequest(target.url, headers, key)
    if (typeof request === "string") return reject(new Error(`cannot build the upgrade request: ${request}`))
    const handshake = new Upgrade(target, options, request, new HandshakeParser(key), resolve, reject)
    handshake.pending = start(
      { host: target.host, port: target.port, tls: target.secure ? (options.tls ?? true) : false },
      handshake,
    )
  })

/** The connect deadline's callback takes the handshake as an argument: no closure per connect. */
const connectTimedOut = (handshake: Upgrade): void =>
  handshake.fail(new TransportTimeout({ phase: "connect", afterMs: handshake.options.connectTimeoutMs }))

/** One connect's handshake and the socket's handlers in one object, its handlers on the prototype. */
class Upgrade implements RawSocketStartHandlers {
  private done = false
  private socket: RawSocket | undefined = undefined
  pending: PendingRawSocket | undefined = undefined
  private live: RawConnection | undefined = undefined
  private readonly timer: ReturnType<typeof setTimeout>
  private readonly onAbort: (() => void) | undefined

  constructor(
    private readonly target: Target,
    readonly options: RawWebSocketOptions,
    private readonly request: Uint8Array,
    private readonly parser: HandshakeParser,
    private readonly resolve: (connection: WsConnection) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    // one deadline for TCP connect, TLS and the upgrade response
    this.timer = setTimeout(connectTimedOut, options.connectTimeoutMs, this)
    if (options.signal !== undefined) {
      this.onAbort = () => this.fail(new TransportAborted())
      options.signal.addEventListener("abort", this.onAbort, { once: true })
    }
  }

  private get where(): string {
    return `${this.target.host}:${this.target.port}`
  }

  private settle(): void {
    this.done = true
    clearTimeout(this.timer)
    if (this.onAbort !== undefined) this.options.signal?.removeEventListener("abort", this.onAbort)
  }

  fail(error: unknown): void {
    if (this.done) return
    this.settle()
    this.pending?.cancel()
    this.reject(error)
  }

  private complete(result: HandshakeResult): void {
    if (result._tag === "Upgraded") {
      this.settle()
      // the result, not its headers: they are parsed only when the connection's `headers` is read
      this.live = new RawConnection(this.socket as RawSocket, result, this.options)
      this.resolve(this.live)
      return
    }
    if (result._tag === "Rejected") {
      this.fail(new UpgradeRejected({ status: result.status, headers: result.headers, body: result.body }))
      return
    }
    this.fail(new Error(`WebSocket handshake with ${this.where} failed: ${result.message}`))
  }

  onOpen(opened: RawSocket): void {
    this.socket = opened
    opened.write(this.request)
  }

  onData(chunk: Uint8Array): void {
    if (this.live !== undefined) {
      this.live.data(chunk)
      return
    }
    if (this.done) return
    const result = this.parser.push(chunk)
    if (result !== undefined) this.complete(result)
  }

  onClose(error?: Error): void {
    if (this.live !== undefined) {
      this.live.socketClosed(error)
      return
    }
    if (this.done) return
    if (error === undefined) this.complete(this.parser.end())
    else this.fail(new Error(`connection to ${this.where} lost during the handshake: ${error.message}`))
  }

  onConnectError(error: RawSocketError): void {
    this.fail(error)
  }
}

type Listener = (text: string) => void
type CloseListener = (code: number, reason: string) => void

/** Timer callbacks take the connection as an argument: no closure per connection. */
const runWatch = (conn: RawConnection): void => conn.watch()
const destroySocket = (conn: RawConnection): void => conn.socket.destroy()
const closeTimedOut = (conn: RawConnection): void => conn.closeTimedOut()

/** The decoder's sink: one small object forwarding to the connection (whose `onClose` means something else). */
class Sink implements FrameSink {
  constructor(private readonly conn: RawConnection) {}
  onText(text: string): void {
    this.conn.deliver(text)
  }
  onBinary(): void {
    this.conn.fail(CloseCode.UnsupportedData, "binary frame")
  }
  onPing(payload: Uint8Array): void {
    if (this.conn.state !== CLOSED) this.conn.socket.write(encodePong(payload))
  }
  onPong(): void {}
  onClose(code: number, reason: string): void {
    // echo the peer's close unless this already answers ours
    if (this.conn.state === OPEN)
      this.conn.socket.write(code === CloseCode.NoStatus ? encodeClose() : encodeClose(code))
    this.conn.finish(code, reason)
  }
  onError(code: number, message: string): void {
    this.conn.fail(code, message)
  }
}

/** One object per connection, its handlers on the prototype (a connect used to allocate a dozen closures). */
class RawConnection implements WsConnection {
  readonly status = 101
  state = OPEN
  private readonly messageListeners: Array<Listener> = []
  private readonly closeListeners: Array<CloseListener> = []
  private readonly pending: Array<string> = []
  private closedWith: { code: number; reason: string } | undefined = undefined
  private lastDataAt = performance.now()
  private readonly stallMs: number
  private readonly idleMs: number | undefined
  private readonly closeMs: number
  private watchTimer: ReturnType<typeof setTimeout> | undefined = undefined
  private closeTimer: ReturnType<typeof setTimeout> | undefined = undefined
  private socketGone = false
  private readonly decoder: FrameDecoder

  constructor(
    readonly socket: RawSocket,
    private readonly upgraded: { readonly headers: Record<string, string>; readonly rest: Uint8Array },
    options: RawWebSocketOptions,
  ) {
    this.stallMs = options.stallTimeoutMs ?? 60_000
    this.idleMs = options.idleTimeoutMs
    this.closeMs = options.closeTimeoutMs ?? 5_000
    this.decoder = new FrameDecoder(
      new Sink(this),
      options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {},
    )
    this.watchTimer = setTimeout(runWatch, Math.min(this.stallMs, this.idleMs ?? this.stallMs), this)
    ;(this.watchTimer as { unref?: () => void }).unref?.()
    if (upgraded.rest.length > 0) this.data(upgraded.rest)
  }

  get headers(): Record<string, string> {
    return this.upgraded.headers
  }

  deliver(text: string): void {
    if (this.state === CLOSED) return
    const listeners = this.messageListeners
    const count = listeners.length
    if (count === 0) this.pending.push(text)
    else if (count === 1) (listeners[0] as Listener)(text)
    else for (let i = 0; i < count; i++) (listeners[i] as Listener)(text)
  }

  finish(code: number, reason: string): void {
    if (this.state === CLOSED) return
    this.state = CLOSED
    if (this.watchTimer !== undefined) clearTimeout(this.watchTimer)
    this.watchTimer = undefined
    this.closedWith = { code, reason }
    for (const listener of this.closeListeners) listener(code, reason)
    // the next connect's key, made now rather than on its clock
    prepareKey()
    // after the close is reported, the socket only needs to go away
    if (this.socketGone) return
    if (this.closeTimer === undefined) this.closeTimer = setTimeout(destroySocket, this.closeMs, this)
    this.socket.end()
  }

  /** Fails the connection: tell the peer why (best effort) and report the same code and reason. */
  fail(code: number, reason: string): void {
    if (this.state === CLOSED) return
    this.socket.write(encodeClose(code, reason))
    this.finish(code, reason)
  }

  /** One timer checks both watchdogs; it re-arms itself rather than being reset on every chunk. */
  watch(): void {
    this.watchTimer = undefined
    if (this.state === CLOSED) return
    const quiet = performance.now() - this.lastDataAt
    if (this.decoder.midMessage && quiet >= this.stallMs) {
      this.fail(CloseCode.Abnormal, `peer stalled mid-message: no data for ${Math.round(quiet)} ms`)
      return
    }
    if (this.idleMs !== undefined && quiet >= this.idleMs) {
      this.fail(CloseCode.Abnormal, `idle timeout: no data for ${Math.round(quiet)} ms`)
      return
    }
    const next = Math.min(this.stallMs, this.idleMs ?? this.stallMs)
    this.watchTimer = setTimeout(runWatch, Math.max(1, next - quiet), this)
    // the socket, not this watchdog, decides whether the process stays alive
    ;(this.watchTimer as { unref?: () => void }).unref?.()
  }

  data(chunk: Uint8Array): void {
    if (this.state === CLOSED) return
    this.lastDataAt = performance.now()
    this.decoder.push(chunk)
  }

  socketClosed(error?: Error): void {
    this.socketGone = true
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer)
    this.closeTimer = undefined
    if (this.state === CLOSED) return
    this.finish(
      CloseCode.Abnormal,
      error === undefined ? "connection closed without a close frame" : `connection lost: ${error.message}`,
    )
  }

  closeTimedOut(): void {
    this.closeTimer = undefined
    this.finish(CloseCode.Abnormal, `close handshake timed out after ${this.closeMs} ms`)
    this.socket.destroy()
  }

  send(text: string): void {
    if (this.state === OPEN) this.socket.write(encodeText(text))
  }

  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.state !== OPEN) return
    this.state = CLOSING
    this.socket.write(encodeClose(code, reason))
    this.closeTimer = setTimeout(closeTimedOut, this.closeMs, this)
  }

  onMessage(listener: Listener): void {
    this.messageListeners.push(listener)
    if (this.pending.length > 0) for (const text of this.pending.splice(0)) listener(text)
  }

  onClose(listener: CloseListener): void {
    if (this.closedWith !== undefined) listener(this.closedWith.code, this.closedWith.reason)
    else this.closeListeners.push(listener)
  }
}

/** A connector with fixed defaults (TLS options for tests, a forced socket implementation, limits). */
export const makeRawConnector = (defaults: RawWebSocketDefaults = {}): WsConnector =>
  Object.keys(defaults).length === 0
    ? (url, headers, options) => connectRawWebSocket(url, headers, options)
    : (url, headers, options) => connectRawWebSocket(url, headers, { ...defaults, ...options })

export const rawConnector: WsConnector = makeRawConnector()
