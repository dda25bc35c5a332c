/**
 * A hand-rolled RFC 6455 client as a `WsConnector`: RawSocket + Handshake, then a RawConnection (over a
 * FrameDecoder) once upgraded; this module is the connect and upgrade half. Unlike the runtime's
 * `WebSocket` it shows the upgrade response (status, headers, and the body of a refusal, which carries the
 * 429 `usage_limit_reached` details), and every way a peer can misbehave ends in a close with a clear reason
 * instead of a hang: connect+handshake share one deadline, a frame or fragmented message that stops half-way
 * is failed after `stallTimeoutMs`, and our own close waits at most `closeTimeoutMs` for the peer's answer.
 */
import { buildRequest } from "./Handshake.ts"
import { takeKey } from "./HandshakeKey.ts"
import { HandshakeParser, type HandshakeResult } from "./HandshakeResponse.ts"
import { type ConnectionLimits, RawConnection } from "./RawConnection.ts"
import {
  loadRawSocket,
  type PendingRawSocket,
  type RawSocket,
  type RawSocketError,
  type RawSocketImplementation,
  type RawSocketStarter,
  type RawSocketStartHandlers,
  type RawSocketTarget,
  type RawTlsOptions,
} from "./RawSocket.ts"
import { TransportAborted, TransportTimeout } from "./Transport.ts"
import { UpgradeRejected, type WsConnection, type WsConnector } from "./WsConnection.ts"

export interface RawWebSocketOptions extends ConnectionLimits {
  /** one deadline for TCP connect, TLS and the upgrade response */
  readonly connectTimeoutMs: number
  readonly signal?: AbortSignal
  /** defaults to Bun when running on Bun */
  readonly implementation?: RawSocketImplementation
  readonly tls?: RawTlsOptions
}

export type RawWebSocketDefaults = Omit<RawWebSocketOptions, "connectTimeoutMs" | "signal">

interface Target {
  readonly url: URL
  readonly host: string
  readonly port: number
  readonly secure: boolean
  /** what the socket is given when no TLS options are: made once per endpoint */
  readonly socket: RawSocketTarget
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
  const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port)
  return { url, host, port, secure, socket: { host, port, tls: secure } }
}

/**
 * Connect, upgrade and hand over, driven by the socket's own callbacks: the upgrade request is written from
 * the open callback and the connection is built and resolved inside the data callback that completes the
 * 101, so the caller's first `send` runs in that same event-loop turn (one microtask hop, no more). Once
 * the implementation module is loaded this runs synchronously up to the socket callbacks. The first frame
 * cannot ride with the upgrade request: RFC 6455 §4.1 has the client wait for the server's answer before
 * sending anything more (a server refusing the upgrade would read that frame as HTTP).
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
      target.secure && options.tls !== undefined
        ? { host: target.host, port: target.port, tls: options.tls }
        : target.socket,
      handshake,
    )
  })

/**
 * Connect deadlines share one timer, armed for the earliest of them, instead of a timer made and cleared per
 * connect: a connect that ends in time (nearly all do) only joins and leaves a set. The timer is unref'd, as
 * the socket of a connect in flight keeps the process alive.
 */
const inFlight = new Set<Upgrade>()
let deadlineTimer: ReturnType<typeof setTimeout> | undefined
let armedFor = Number.POSITIVE_INFINITY

const armDeadlines = (at: number): void => {
  if (deadlineTimer !== undefined) clearTimeout(deadlineTimer)
  armedFor = at
  deadlineTimer = setTimeout(checkDeadlines, Math.max(1, Math.ceil(at - performance.now())))
  ;(deadlineTimer as { unref?: () => void }).unref?.()
}

const checkDeadlines = (): void => {
  deadlineTimer = undefined
  armedFor = Number.POSITIVE_INFINITY
  const now = performance.now()
  let next = Number.POSITIVE_INFINITY
  for (const handshake of inFlight) {
    if (handshake.deadline <= now) {
      handshake.fail(new TransportTimeout({ phase: "connect", afterMs: handshake.options.connectTimeoutMs }))
    } else if (handshake.deadline < next) next = handshake.deadline
  }
  if (next !== Number.POSITIVE_INFINITY) armDeadlines(next)
}

/** One connect's handshake and the socket's handlers in one object, its handlers on the prototype. */
class Upgrade implements RawSocketStartHandlers {
  private done = false
  private socket: RawSocket | undefined = undefined
  pending: PendingRawSocket | undefined = undefined
  private live: RawConnection | undefined = undefined
  /** one deadline for TCP connect, TLS and the upgrade response (`performance.now()` time) */
  readonly deadline: number
  private readonly onAbort: (() => void) | undefined

  constructor(
    private readonly target: Target,
    readonly options: RawWebSocketOptions,
    private readonly request: Uint8Array,
    private readonly parser: HandshakeParser,
    private readonly resolve: (connection: WsConnection) => void,
    private readonly reject: (error: unknown) => void,
  ) {
    this.deadline = performance.now() + options.connectTimeoutMs
    inFlight.add(this)
    if (this.deadline < armedFor) armDeadlines(this.deadline)
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
    inFlight.delete(this)
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

/** A connector with fixed defaults (TLS options for tests, a forced socket implementation, limits). */
export const makeRawConnector = (defaults: RawWebSocketDefaults = {}): WsConnector =>
  Object.keys(defaults).length === 0
    ? (url, headers, options) => connectRawWebSocket(url, headers, options)
    : (url, headers, options) => connectRawWebSocket(url, headers, { ...defaults, ...options })

export const rawConnector: WsConnector = makeRawConnector()
