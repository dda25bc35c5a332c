/**
 * RawSocket over `Bun.connect`. Bun's `write` may accept only part of the bytes under backpressure: the rest
 * waits in a queue flushed on `drain`, so callers can write without caring. A plain connection passes no
 * `tls` key at all, so Bun takes its plain TCP path. One handler object serves every socket (the per-socket
 * state rides in `socket.data`): a connect allocates one object instead of a dozen closures.
 */
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

class BunRawSocket implements RawSocket, PendingRawSocket {
  socket: Bun.Socket<BunRawSocket> | undefined = undefined
  state = CONNECTING
  ending = false
  lastError: Error | undefined = undefined
  readonly queue: Array<Uint8Array> = []

  constructor(
    readonly target: RawSocketTarget,
    readonly handlers: RawSocketStartHandlers,
    readonly useTls: boolean,
    readonly rejectUnauthorized: boolean,
  ) {}

  write(data: Uint8Array): void {
    const socket = this.socket
    if (this.state !== OPEN || socket === undefined) return
    if (this.queue.length > 0) {
      this.queue.push(data)
      return
    }
    const written = socket.write(data)
    if (written < data.length) this.queue.push(data.subarray(Math.max(0, written)))
  }

  writeTransient(bytes: Uint8Array, start: number, end: number): void {
    const socket = this.socket
    if (this.state !== OPEN || socket === undefined) return
    if (this.queue.length > 0) {
      this.queue.push(bytes.slice(start, end))
      return
    }
    // Bun's write sends what it can now and keeps nothing: the rest is ours to queue
    const written = socket.write(bytes, start, end - start)
    if (written < end - start) this.queue.push(bytes.slice(start + Math.max(0, written), end))
  }

  end(): void {
    if (this.state !== OPEN || this.socket === undefined) return
    this.ending = true
    if (this.queue.length === 0) this.socket.end()
  }

  destroy(): void {
    this.socket?.terminate()
    this.finish(undefined)
  }

  cancel(): void {
    this.state = CLOSED
    this.socket?.terminate()
  }

  opened(): void {
    this.state = OPEN
    this.handlers.onOpen(this)
  }

  flush(s: Bun.Socket<BunRawSocket>): void {
    const queue = this.queue
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
    if (this.ending) s.end()
  }

  finish(error?: Error): void {
    const was = this.state
    this.state = CLOSED
    if (was === OPEN) this.handlers.onClose(error)
    else if (was === CONNECTING) {
      this.handlers.onConnectError(
        new RawSocketError({
          phase: "connect",
          message: `connection to ${this.target.host}:${this.target.port} closed: ${error?.message ?? "no reason"}`,
          cause: error,
        }),
      )
    }
  }
}

const handler: Bun.SocketHandler<BunRawSocket> = {
  open(s) {
    const raw = s.data
    raw.socket = s
    // no setNoDelay here: Bun's sockets already have TCP_NODELAY (set at connect and again at open, seen in
    // strace), and a third setsockopt would be one more syscall on every connect's clock
    if (raw.state === CLOSED) s.terminate()
    else if (!raw.useTls) raw.opened()
  },
  handshake(s, _success, authorizationError) {
    const raw = s.data
    if (raw.state !== CONNECTING) return
    if (authorizationError !== null && raw.rejectUnauthorized) {
      raw.state = CLOSED
      raw.handlers.onConnectError(
        new RawSocketError({
          phase: "tls",
          message: `TLS certificate rejected: ${authorizationError.message}`,
          cause: authorizationError,
        }),
      )
      s.terminate()
      return
    }
    raw.opened()
  },
  data(s, data) {
    const raw = s.data
    if (raw.state === OPEN) raw.handlers.onData(data)
  },
  drain(s) {
    s.data.flush(s)
  },
  end(s) {
    s.end()
  },
  error(s, error) {
    s.data.lastError = error
  },
  close(s, error) {
    const raw = s.data
    raw.finish(error ?? raw.lastError)
  },
  connectError(s, error) {
    const raw = s.data
    if (raw.state !== CONNECTING) return
    raw.state = CLOSED
    raw.handlers.onConnectError(
      new RawSocketError({
        phase: "connect",
        message: `connect to ${raw.target.host}:${raw.target.port} failed: ${error.message}`,
        cause: error,
      }),
    )
  },
}

const ignore = () => {}

export const startBun = (target: RawSocketTarget, handlers: RawSocketStartHandlers): PendingRawSocket => {
  const useTls = target.tls !== false
  const tlsOptions = typeof target.tls === "object" ? target.tls : {}
  const rejectUnauthorized = tlsOptions.rejectUnauthorized ?? true
  const raw = new BunRawSocket(target, handlers, useTls, rejectUnauthorized)
  // failures arrive through `connectError`; the promise's rejection carries nothing more
  Bun.connect(
    useTls
      ? {
          hostname: target.host,
          port: target.port,
          data: raw,
          tls: {
            rejectUnauthorized,
            ...(tlsOptions.ca !== undefined
              ? { ca: [...(typeof tlsOptions.ca === "string" ? [tlsOptions.ca] : tlsOptions.ca)] }
              : {}),
            ...(tlsOptions.servername !== undefined ? { serverName: tlsOptions.servername } : {}),
          },
          socket: handler,
        }
      : { hostname: target.host, port: target.port, data: raw, socket: handler },
  ).catch(ignore)
  return raw
}
