/**
 * RawSocket over `node:net` / `node:tls`, for hosts without Bun (and for tests forcing it under Bun). Node
 * buffers writes itself, so there is no queue here.
 */
import { isIP, connect as netConnect, type Socket } from "node:net"
import { connect as tlsConnect } from "node:tls"
import {
  connectGuard,
  type RawSocket,
  RawSocketError,
  type RawSocketHandlers,
  type RawSocketOptions,
} from "./RawSocket.ts"

/** `firstWrite`: bytes sent the moment the connection is usable (TCP connected, or TLS verified). */
export interface EarlyWriteOptions extends RawSocketOptions {
  /** read when the socket opens: may be set after the connect started */
  firstWrite?: Uint8Array
}

export const connectNode = async (options: EarlyWriteOptions, handlers: RawSocketHandlers): Promise<RawSocket> => {
  let closed = false
  let lastError: Error | undefined
  const useTls = options.tls !== false
  const tlsOptions = typeof options.tls === "object" ? options.tls : {}
  const servername = tlsOptions.servername ?? (isIP(options.host) === 0 ? options.host : undefined)
  const socket: Socket = useTls
    ? tlsConnect({
        host: options.host,
        port: options.port,
        rejectUnauthorized: tlsOptions.rejectUnauthorized ?? true,
        ...(servername !== undefined ? { servername } : {}),
        ...(tlsOptions.ca !== undefined
          ? { ca: typeof tlsOptions.ca === "string" ? [tlsOptions.ca] : [...tlsOptions.ca] }
          : {}),
      })
    : netConnect({ host: options.host, port: options.port })
  const guard = connectGuard(options, () => socket.destroy())
  socket.setNoDelay(true)
  // only once the peer is verified: the first bytes carry the credentials
  socket.once(useTls ? "secureConnect" : "connect", () => {
    if (options.firstWrite !== undefined && !guard.settled()) socket.write(options.firstWrite)
    guard.settle()
  })
  socket.on("data", (data: Uint8Array) => {
    if (!closed) handlers.onData(data)
  })
  socket.on("error", (error: Error & { code?: string }) => {
    lastError = error
    const tlsFailure = useTls && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/.test(`${error.code ?? ""} ${error.message}`)
    guard.settle(
      new RawSocketError(
        tlsFailure ? "tls" : "connect",
        `${tlsFailure ? "TLS" : "connect"} to ${options.host}:${options.port} failed: ${error.message}`,
        { cause: error },
      ),
    )
  })
  socket.on("close", () => {
    if (closed) return
    closed = true
    if (
      guard.settle(
        new RawSocketError("connect", `connection to ${options.host}:${options.port} closed while connecting`),
      )
    )
      return
    handlers.onClose(lastError)
  })

  await guard.promise
  return {
    write: (data) => {
      if (!closed && !socket.destroyed) socket.write(data)
    },
    end: () => {
      if (!closed) socket.end()
    },
    destroy: () => {
      socket.destroy()
    },
  }
}
