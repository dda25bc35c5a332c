/**
 * The few socket operations the raw WebSocket client needs, over either `Bun.connect` or `node:net`/`node:tls`.
 * The implementation is picked at run time (Bun when `Bun` exists) and can be forced, so that tests run both
 * under Bun. Implementations are loaded lazily: the Node one pulls in `node:tls` only when used.
 */

export interface RawSocket {
  /** queues bytes; never throws (a write on a dead socket is dropped, its close was already reported) */
  readonly write: (data: Uint8Array) => void
  /** half-closes after pending writes flush */
  readonly end: () => void
  readonly destroy: () => void
}

export interface RawSocketHandlers {
  readonly onData: (chunk: Uint8Array) => void
  /** called exactly once, after the socket connected; `error` when it died rather than closed */
  readonly onClose: (error?: Error) => void
}

export interface RawTlsOptions {
  readonly rejectUnauthorized?: boolean
  /** extra trusted certificates (PEM), e.g. a test's self-signed one */
  readonly ca?: string | ReadonlyArray<string>
  readonly servername?: string
}

export type RawSocketImplementation = "bun" | "node"

export interface RawSocketOptions {
  readonly host: string
  readonly port: number
  /** `false` for plain TCP; `true` or options for TLS */
  readonly tls: boolean | RawTlsOptions
  readonly connectTimeoutMs: number
  readonly signal?: AbortSignal
  readonly implementation?: RawSocketImplementation
}

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

/** Resolves once connected (and, for TLS, once the handshake verified the peer); rejects with RawSocketError. */
export const connectRawSocket = async (options: RawSocketOptions, handlers: RawSocketHandlers): Promise<RawSocket> => {
  if (options.signal?.aborted) throw new RawSocketError("aborted", "connect aborted")
  const implementation = options.implementation ?? defaultImplementation()
  // loaded once; later connects skip the import's extra async hop on the time-to-first-event path
  if (implementation === "bun") {
    bunModule ??= await import("./RawSocketBun.ts")
    return bunModule.connectBun(options, handlers)
  }
  nodeModule ??= await import("./RawSocketNode.ts")
  return nodeModule.connectNode(options, handlers)
}

let bunModule: typeof import("./RawSocketBun.ts") | undefined
let nodeModule: typeof import("./RawSocketNode.ts") | undefined

/**
 * Shared connect bookkeeping: a timer and an abort listener that both fail the pending connect, and a guard
 * so that exactly one of resolve/reject happens.
 */
export const connectGuard = (
  options: RawSocketOptions,
  kill: () => void,
): {
  readonly promise: Promise<void>
  readonly settle: (error?: RawSocketError) => boolean
  readonly settled: () => boolean
} => {
  let done = false
  let resolve!: () => void
  let reject!: (error: RawSocketError) => void
  const promise = new Promise<void>((res, rej) => {
    resolve = res
    reject = rej
  })
  const onAbort = () => {
    if (settle(new RawSocketError("aborted", "connect aborted"))) kill()
  }
  const timer = setTimeout(() => {
    if (
      settle(
        new RawSocketError(
          "timeout",
          `connect to ${options.host}:${options.port} timed out after ${options.connectTimeoutMs} ms`,
        ),
      )
    )
      kill()
  }, options.connectTimeoutMs)
  options.signal?.addEventListener("abort", onAbort, { once: true })
  const settle = (error?: RawSocketError): boolean => {
    if (done) return false
    done = true
    clearTimeout(timer)
    options.signal?.removeEventListener("abort", onAbort)
    if (error === undefined) resolve()
    else reject(error)
    return true
  }
  return { promise, settle, settled: () => done }
}
