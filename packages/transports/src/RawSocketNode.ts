/**
 * RawSocket over `node:net` / `node:tls`, for hosts without Bun (and for tests forcing it under Bun). Node
 * buffers writes itself, so there is no queue here.
 */
import { isIP, connect as netConnect, type Socket } from "node:net"
import { connect as tlsConnect } from "node:tls"
import {
  CLOSED,
  CONNECTING,
  OPEN,
  type PendingRawSocket,
  type RawSocket,
  RawSocketError,
  type RawSocketStartHandlers,
  type RawSocketTarget,
} from "./RawSocket.ts"

export const startNode = (target: RawSocketTarget, handlers: RawSocketStartHandlers): PendingRawSocket => {
  let state = CONNECTING
  let lastError: Error | undefined
  const useTls = target.tls !== false
  const tlsOptions = typeof target.tls === "object" ? target.tls : {}
  const servername = tlsOptions.servername ?? (isIP(target.host) === 0 ? target.host : undefined)
  const socket: Socket = useTls
    ? tlsConnect({
        host: target.host,
        port: target.port,
        rejectUnauthorized: tlsOptions.rejectUnauthorized ?? true,
        ...(servername !== undefined ? { servername } : {}),
        ...(tlsOptions.ca !== undefined
          ? { ca: typeof tlsOptions.ca === "string" ? [tlsOptions.ca] : [...tlsOptions.ca] }
          : {}),
      })
    : netConnect({ host: target.host, port: target.port })
  socket.setNoDelay(true)
  const raw: RawSocket = {
    write: (data) => {
      if (state === OPEN && !socket.destroyed) socket.write(data)
    },
    // node:net keeps a reference to what it queues: it gets its own copy
    writeTransient: (bytes, start, end) => {
      if (state === OPEN && !socket.destroyed) socket.write(bytes.slice(start, end))
    },
    end: () => {
      if (state === OPEN) socket.end()
    },
    destroy: () => {
      socket.destroy()
    },
  }
  // only once the peer is verified: the first bytes carry the credentials
  socket.once(useTls ? "secureConnect" : "connect", () => {
    if (state !== CONNECTING) return
    state = OPEN
    handlers.onOpen(raw)
  })
  socket.on("data", (data: Uint8Array) => {
    if (state === OPEN) handlers.onData(data)
  })
  socket.on("error", (error: Error & { code?: string }) => {
    lastError = error
    if (state !== CONNECTING) return
    state = CLOSED
    const tlsFailure = useTls && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO/.test(`${error.code ?? ""} ${error.message}`)
    handlers.onConnectError(
      new RawSocketError({
        phase: tlsFailure ? "tls" : "connect",
        message: `${tlsFailure ? "TLS" : "connect"} to ${target.host}:${target.port} failed: ${error.message}`,
        cause: error,
      }),
    )
  })
  socket.on("close", () => {
    const was = state
    state = CLOSED
    if (was === OPEN) handlers.onClose(lastError)
    else if (was === CONNECTING) {
      handlers.onConnectError(
        new RawSocketError({
          phase: "connect",
          message: `connection to ${target.host}:${target.port} closed while connecting`,
        }),
      )
    }
  })
  return {
    cancel: () => {
      state = CLOSED
      socket.destroy()
    },
  }
}
