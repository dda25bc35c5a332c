/**
 * RawSocket over `Bun.connect`. Bun's `write` may accept only part of the bytes under backpressure: the rest
 * waits in a queue flushed on `drain`, so callers can write without caring.
 */
import {
  connectGuard,
  type RawSocket,
  RawSocketError,
  type RawSocketHandlers,
  type RawSocketOptions,
} from "./RawSocket.ts"

/** `firstWrite`: bytes sent the moment the connection is usable (TCP open, or TLS verified), with no hop back. */
export interface EarlyWriteOptions extends RawSocketOptions {
  /** read when the socket opens: may be set after the connect started */
  firstWrite?: Uint8Array
}

export const connectBun = async (options: EarlyWriteOptions, handlers: RawSocketHandlers): Promise<RawSocket> => {
  let socket: Bun.Socket<undefined> | undefined
  let closed = false
  let ending = false
  let lastError: Error | undefined
  const queue: Array<Uint8Array> = []
  const guard = connectGuard(options, () => socket?.terminate())
  const useTls = options.tls !== false
  const tlsOptions = typeof options.tls === "object" ? options.tls : {}
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

  const writeFirst = (s: Bun.Socket<undefined>) => {
    const data = options.firstWrite
    // a connect that already timed out or was aborted sends nothing
    if (data === undefined || guard.settled()) return
    const written = s.write(data)
    if (written < data.length) queue.push(data.subarray(Math.max(0, written)))
  }

  const finish = (error?: Error) => {
    if (closed) return
    closed = true
    if (!guard.settled()) {
      guard.settle(
        new RawSocketError(
          "connect",
          `connection to ${options.host}:${options.port} closed: ${error?.message ?? "no reason"}`,
          { cause: error },
        ),
      )
      return
    }
    handlers.onClose(error)
  }

  Bun.connect({
    hostname: options.host,
    port: options.port,
    ...(useTls
      ? {
          tls: {
            rejectUnauthorized,
            ...(tlsOptions.ca !== undefined
              ? { ca: [...(typeof tlsOptions.ca === "string" ? [tlsOptions.ca] : tlsOptions.ca)] }
              : {}),
            ...(tlsOptions.servername !== undefined ? { serverName: tlsOptions.servername } : {}),
          },
        }
      : {}),
    socket: {
      open(s) {
        socket = s
        s.setNoDelay(true)
        if (guard.settled()) s.terminate()
        else if (!useTls) {
          writeFirst(s)
          guard.settle()
        }
      },
      handshake(s, _success, authorizationError) {
        if (authorizationError !== null && rejectUnauthorized) {
          if (
            guard.settle(
              new RawSocketError("tls", `TLS certificate rejected: ${authorizationError.message}`, {
                cause: authorizationError,
              }),
            )
          )
            closed = true
          s.terminate()
          return
        }
        writeFirst(s)
        guard.settle()
      },
      data(_s, data) {
        if (!closed) handlers.onData(data)
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
        closed = true
        guard.settle(
          new RawSocketError("connect", `connect to ${options.host}:${options.port} failed: ${error.message}`, {
            cause: error,
          }),
        )
      },
    },
  }).then(
    (s) => {
      socket = s
      if (guard.settled() && closed) s.terminate()
    },
    () => {},
  )

  await guard.promise
  return {
    write: (data) => {
      if (closed || socket === undefined) return
      if (queue.length > 0) {
        queue.push(data)
        return
      }
      const written = socket.write(data)
      if (written < data.length) queue.push(data.subarray(Math.max(0, written)))
    },
    end: () => {
      if (closed || socket === undefined) return
      ending = true
      if (queue.length === 0) socket.end()
    },
    destroy: () => {
      if (socket !== undefined) socket.terminate()
      finish(undefined)
    },
  }
}
