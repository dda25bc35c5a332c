/**
 * A hand-rolled RFC 6455 client as a `WsConnector`: RawSocket + Handshake, then a RawConnection (over a
 * FrameDecoder) once upgraded; this module is the connect and upgrade half. Unlike the runtime's `WebSocket` it
 * shows the upgrade response (status, headers, and the body of a refusal, which carries the 429
 * `usage_limit_reached` details), and every way a peer can misbehave ends in a close with a clear reason
 * instead of a hang: a frame or fragmented message that stops half-way is failed after `stallTimeoutMs`, and
 * our own close waits at most `closeTimeoutMs` for the peer's answer (both on the Effect `Clock`).
 *
 * The connect is an Effect: interrupting it (the transport's connect deadline, an abort) cancels the socket,
 * and the connection it acquires is closed with its scope.
 */
import { Effect } from "effect"
import { type Alarms, alarmsOf } from "./Alarms.ts"
import { FrameWriter } from "./Frame.ts"
import { UpgradeRequests } from "./Handshake.ts"
import { KeyStock } from "./HandshakeKey.ts"
import { HandshakeParser, type HandshakeResult } from "./HandshakeResponse.ts"
import { type ConnectionLimits, RawConnection } from "./RawConnection.ts"
import {
  defaultImplementation,
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
import { ConnectFailure } from "./Transport.ts"
import { UpgradeRejected, type WsConnector } from "./WsConnection.ts"

export interface RawWebSocketOptions extends ConnectionLimits {
  /** defaults to Bun when running on Bun */
  readonly implementation?: RawSocketImplementation
  readonly tls?: RawTlsOptions
}

interface Target {
  readonly url: URL
  readonly host: string
  readonly port: number
  readonly socket: RawSocketTarget
}

const parseTarget = (raw: string, tls: RawTlsOptions | undefined): Target | string => {
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
  return { url, host, port, socket: { host, port, tls: secure ? (tls ?? true) : false } }
}

type Resume = (effect: Effect.Effect<RawConnection, ConnectFailure | UpgradeRejected>) => void

/**
 * What a connector keeps for its connects, each a measured saving on the connect path (see each class): the
 * buffer its connections encode text frames in, its next nonce, and its last request's header lines.
 */
interface ConnectorKit {
  readonly writer: FrameWriter
  readonly keys: KeyStock
  readonly requests: UpgradeRequests
}

/**
 * One connect's handshake and the socket's handlers in one object, its handlers on the prototype. The upgrade
 * request is written from the open callback, and the connection is built and handed over inside the data
 * callback that completes the 101, so the caller's first `send` runs in that same event-loop turn. The first
 * frame cannot ride with the upgrade request: RFC 6455 §4.1 has the client wait for the server's answer before
 * sending anything more (a server refusing the upgrade would read that frame as HTTP).
 */
class Upgrade implements RawSocketStartHandlers {
  private done = false
  private socket: RawSocket | undefined = undefined
  pending: PendingRawSocket | undefined = undefined
  private live: RawConnection | undefined = undefined
  /** made by `prepare`, while the TCP connect is in flight and before any socket callback can run */
  private request = ""
  private parser: HandshakeParser | undefined = undefined

  constructor(
    private readonly target: Target,
    private readonly options: RawWebSocketOptions,
    private readonly alarms: Alarms,
    private readonly kit: ConnectorKit,
    private readonly resume: Resume,
  ) {}

  /** The nonce, the request bytes and the parser that checks the answer against the nonce. */
  prepare(headers: Readonly<Record<string, string>>): void {
    const { key, accept } = this.kit.keys.take()
    const request = this.kit.requests.build(this.target.url, headers, key)
    if (request._tag === "InvalidHeader") {
      this.fail(new ConnectFailure({ message: `cannot build the upgrade request: ${request.message}` }))
      return
    }
    this.request = request.text
    this.parser = new HandshakeParser(key, accept)
  }

  private get where(): string {
    return `${this.target.host}:${this.target.port}`
  }

  /** The connect was interrupted: the socket goes, nothing more is reported. */
  cancel(): void {
    if (this.done) return
    this.done = true
    this.pending?.cancel()
  }

  private fail(error: ConnectFailure | UpgradeRejected): void {
    if (this.done) return
    this.done = true
    this.pending?.cancel()
    this.resume(Effect.fail(error))
  }

  private complete(result: HandshakeResult): void {
    if (result._tag === "Upgraded") {
      this.done = true
      // the result, not its headers: they are parsed only when the connection's `headers` is read
      const live = new RawConnection(
        this.socket as RawSocket,
        result,
        this.options,
        this.alarms,
        this.kit.writer,
        this.kit.keys,
      )
      // routed to the connection before the rest of the segment is decoded: a close in it may end the socket at once
      this.live = live
      if (result.rest.length > 0) live.data(result.rest)
      this.resume(Effect.succeed(live))
      return
    }
    if (result._tag === "Rejected") {
      this.fail(new UpgradeRejected({ status: result.status, headers: result.headers, body: result.body }))
      return
    }
    this.fail(new ConnectFailure({ message: `WebSocket handshake with ${this.where} failed: ${result.message}` }))
  }

  onOpen(opened: RawSocket): void {
    this.socket = opened
    this.kit.writer.writeBytesOf(opened, this.request)
  }

  onData(chunk: Uint8Array): void {
    if (this.live !== undefined) {
      this.live.data(chunk)
      return
    }
    if (this.done) return
    const result = (this.parser as HandshakeParser).push(chunk)
    if (result !== undefined) this.complete(result)
  }

  onClose(error?: Error): void {
    if (this.live !== undefined) {
      this.live.socketClosed(error)
      return
    }
    if (this.done) return
    if (error === undefined) this.complete((this.parser as HandshakeParser).end())
    else {
      this.fail(
        new ConnectFailure({ message: `connection to ${this.where} lost during the handshake: ${error.message}` }),
      )
    }
  }

  onConnectError(error: RawSocketError): void {
    this.fail(new ConnectFailure({ message: error.message, cause: error }))
  }
}

const upgrade = (
  start: RawSocketStarter,
  kit: ConnectorKit,
  target: Target,
  headers: Readonly<Record<string, string>>,
  options: RawWebSocketOptions,
): Effect.Effect<RawConnection, ConnectFailure | UpgradeRejected> =>
  Effect.withFiber((fiber) =>
    Effect.callback<RawConnection, ConnectFailure | UpgradeRejected>((resume) => {
      const handshake = new Upgrade(target, options, alarmsOf(fiber), kit, resume)
      handshake.pending = start(target.socket, handshake)
      // the request is made while the kernel connects (the socket calls back on a later turn at the earliest);
      // a header that would break it cancels the socket before a byte is sent
      handshake.prepare(headers)
      return Effect.sync(() => handshake.cancel())
    }),
  )

/**
 * A connector with fixed options (TLS trust for tests, a forced socket implementation, limits). It keeps the
 * socket implementation (loaded by its first connect) and its `ConnectorKit`.
 */
export const makeRawConnector = (options: RawWebSocketOptions = {}): WsConnector => {
  const implementation = options.implementation ?? defaultImplementation()
  const kit: ConnectorKit = { writer: new FrameWriter(), keys: new KeyStock(), requests: new UpgradeRequests() }
  let starter: RawSocketStarter | undefined
  const load = Effect.promise(() => loadRawSocket(implementation)).pipe(
    Effect.map((loaded) => {
      starter = loaded
      return loaded
    }),
  )
  return (url, headers) => {
    const target = parseTarget(url, options.tls)
    if (typeof target === "string") return Effect.fail(new ConnectFailure({ message: target }))
    const connect =
      starter !== undefined
        ? upgrade(starter, kit, target, headers, options)
        : Effect.flatMap(load, (loaded) => upgrade(loaded, kit, target, headers, options))
    return Effect.acquireRelease(connect, (conn) => Effect.sync(() => conn.close()), { interruptible: true })
  }
}
