/**
 * RawSocket over `Bun.connect`. Bun's `write` may accept only part of the bytes under backpressure: the rest
 * waits in a queue flushed on `drain`, so callers can write without caring. A plain connection passes no
 * `tls` key at all, so Bun takes its plain TCP path.
 */
import {
  type PendingRawSocket,
  type RawSocket,
  RawSocketError,
  type RawSocketStartHandlers,
  type RawSocketTarget,
} from "./RawSocket.ts"

const CONNECTING = 0
const OPEN = 1
const CLOSED = 2

export const startBun = (target: RawSocketTarget, handlers: RawSocketStartHandlers): PendingRawSocket => {
  let socket: Bun.Socket<undefined> | undefined
  let state = CONNECTING
  let ending = false
  let lastError: Error | undefined
  const queue: Array<Uint8Array> = []
  const useTls = target.tls !== false
  const tlsOptions = typeof target.tls === "object" ? target.tls : {}
  const rejectUnauthorized = tlsOptions.rejectUnauthorized ?? true

  const flush = (s: Bun.Socket<undefined>) => {
    while (queue.length > 0) {
      const head = queue[0] as Uint8Array
      const written = s.write(head)
      if (written < 0) return
      if (written < head.length) {
        queue[0] = head.subarray(written)
        return
      }
      queue.shift()
    }
    if (ending) s.end()
  }

  const finish = (error?: Error) => {
    const was = state
    state = CLOSED
    if (was === OPEN) handlers.onClose(error)
    else if (was === CONNECTING) {
      handlers.onConnectError(
        new RawSocketError(
          "connect",
          `connection to ${target.host}:${target.port} closed: ${error?.message ?? "no reason"}`,
          { cause: error },
        ),
      )
    }
  }

  const raw: RawSocket = {
    write: (data) => {
      if (state !== OPEN || socket === undefined) return
      if (queue.length > 0) {
        queue.push(data)
        return
      }
      const written = socket.write(data)
      if (written < data.length) queue.push(data.subarray(Math.max(0, written)))
    },
    end: () => {
      if (state !== OPEN || socket === undefined) return
      ending = true
      if (queue.length === 0) socket.end()
    },
    destroy: () => {
      socket?.terminate()
      finish(undefined)
    },
  }

  const opened = () => {
    state = OPEN
    handlers.onOpen(raw)
  }

  const socketHandler: Bun.SocketHandler<undefined> = {
    open(s) {
      socket = s
      // small frames (each streamed token, the first request) must not wait for Nagle
      s.setNoDelay(true)
      if (state === CLOSED) s.terminate()
      else if (!useTls) opened()
    },
    handshake(s, _success, authorizationError) {
      if (state !== CONNECTING) return
      if (authorizationError !== null && rejectUnauthorized) {
        state = CLOSED
        handlers.onConnectError(
          new RawSocketError("tls", `TLS certificate rejected: ${authorizationError.message}`, {
            cause: authorizationError,
          }),
        )
        s.terminate()
        return
      }
      opened()
    },
    data(_s, data) {
      if (state === OPEN) handlers.onData(data)
    },
    drain(s) {
      flush(s)
    },
    end(s) {
      s.end()
    },
    error(_s, error) {
      lastError = error
    },
    close(_s, error) {
      finish(error ?? lastError)
    },
    connectError(_s, error) {
      if (state !== CONNECTING) return
      state = CLOSED
      handlers.onConnectError(
        new RawSocketError("connect", `connect to ${target.host}:${target.port} failed: ${error.message}`, {
          cause: error,
        }),
      )
    },
  }

  Bun.connect(
    useTls
      ? {
          hostname: target.host,
          port: target.port,
          tls: {
            rejectUnauthorized,
            ...(tlsOptions.ca !== undefined
              ? { ca: [...(typeof tlsOptions.ca === "string" ? [tlsOptions.ca] : tlsOptions.ca)] }
              : {}),
            ...(tlsOptions.servername !== undefined ? { serverName: tlsOptions.servername } : {}),
          },
          socket: socketHandler,
        }
      : { hostname: target.host, port: target.port, socket: socketHandler },
  ).then(
    (s) => {
      socket = s
      if (state === CLOSED) s.terminate()
    },
    () => {},
  )

  return {
    cancel: () => {
      state = CLOSED
      socket?.terminate()
    },
  }
}
