/**
 * The few socket operations the raw WebSocket client needs, over either `Bun.connect` or `node:net`/`node:tls`.
 * The implementation is picked at run time (Bun when `Bun` exists) and can be forced, so that tests run both
 * under Bun. Implementations are loaded lazily: the Node one pulls in `node:tls` only when used.
 *
 * `startRawSocket` is callback-driven and, once the implementation is loaded, synchronous: the WebSocket client
 * writes its upgrade request from `onOpen` and finishes its handshake inside `onData`, with no promise hop on
 * the way (each hop is a trip through the microtask queue on the time-to-first-event path).
 */

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

export interface RawSocketOptions extends RawSocketTarget {
  readonly connectTimeoutMs: number
  readonly signal?: AbortSignal
  readonly implementation?: RawSocketImplementation
}

/** A connect in progress (or the open socket): `cancel` kills it without any further callback. */
export interface PendingRawSocket {
  readonly cancel: () => void
}

export type RawSocketStarter = (target: RawSocketTarget, handlers: RawSocketStartHandlers) => PendingRawSocket

export class RawSocketError extends Error {
  constructor(
    readonly phase: "connect" | "tls" | "timeout" | "aborted",
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
    this.name = "RawSocketError"
  }
}

export const defaultImplementation = (): RawSocketImplementation =>
  typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "node"

let bunStarter: RawSocketStarter | undefined
let nodeStarter: RawSocketStarter | undefined

/** The starter, synchronously once loaded; only the first use of an implementation pays the import's hop. */
export const loadRawSocket = (
  implementation: RawSocketImplementation = defaultImplementation(),
): RawSocketStarter | Promise<RawSocketStarter> => {
  if (implementation === "bun") {
    if (bunStarter !== undefined) return bunStarter
    return import("./RawSocketBun.ts").then((m) => {
      bunStarter = m.startBun
      return bunStarter
    })
  }
  if (nodeStarter !== undefined) return nodeStarter
  return import("./RawSocketNode.ts").then((m) => {
    nodeStarter = m.startNode
    return nodeStarter
  })
}

/** Resolves once connected (and, for TLS, once the handshake verified the peer); rejects with RawSocketError. */
export const connectRawSocket = async (options: RawSocketOptions, handlers: RawSocketHandlers): Promise<RawSocket> => {
  if (options.signal?.aborted) throw new RawSocketError("aborted", "connect aborted")
  const start = await loadRawSocket(options.implementation)
  return new Promise<RawSocket>((resolve, reject) => {
    let done = false
    let pending: PendingRawSocket | undefined
    const kill = (error: RawSocketError) => {
      if (settle(error)) pending?.cancel()
    }
    const onAbort = () => kill(new RawSocketError("aborted", "connect aborted"))
    const timer = setTimeout(
      () =>
        kill(
          new RawSocketError(
            "timeout",
            `connect to ${options.host}:${options.port} timed out after ${options.connectTimeoutMs} ms`,
          ),
        ),
      options.connectTimeoutMs,
    )
    options.signal?.addEventListener("abort", onAbort, { once: true })
    const settle = (error?: RawSocketError, socket?: RawSocket): boolean => {
      if (done) return false
      done = true
      clearTimeout(timer)
      options.signal?.removeEventListener("abort", onAbort)
      if (socket !== undefined) resolve(socket)
      else reject(error)
      return true
    }
    pending = start(options, {
      onOpen: (socket) => {
        if (!settle(undefined, socket)) socket.destroy()
      },
      onConnectError: (error) => settle(error),
      onData: handlers.onData,
      onClose: handlers.onClose,
    })
  })
}
