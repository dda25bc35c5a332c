/**
 * Test servers for the raw WebSocket client, written against `node:net`/`node:tls` so that they run under
 * Bun and under Node alike. Each connection gets a script: it reads the upgrade request, then writes whatever
 * bytes the test wants, well-formed or hostile, and can read back the client's (masked) frames.
 */
import { createHash } from "node:crypto"
import { createServer as createNetServer, type Server, type Socket } from "node:net"
import { createServer as createTlsServer } from "node:tls"

export const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

export const acceptFor = (key: string): string =>
  createHash("sha1")
    .update(key + GUID)
    .digest("base64")

export const upgradeResponse = (key: string, extra = ""): string =>
  `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n${extra}\r\n`

export interface ClientFrame {
  readonly fin: boolean
  readonly opcode: number
  readonly masked: boolean
  readonly payload: Buffer
}

/** One connection as the script sees it. */
export interface Peer {
  readonly socket: Socket
  /** the raw request head (without the terminator) and its headers, lower-case */
  readonly request: { readonly head: string; readonly headers: Record<string, string>; readonly key: string }
  /** write the 101 answer */
  readonly accept: (extra?: string) => void
  /** the next client frame (unmasked) */
  readonly nextFrame: () => Promise<ClientFrame>
}

/** A server frame: unmasked unless `mask` is given; `length` overrides the length field (hostile headers). */
export const frame = (
  opcode: number,
  payload: Uint8Array | string = new Uint8Array(0),
  options: { fin?: boolean; rsv?: number; mask?: Uint8Array; length?: number } = {},
): Buffer => {
  const body = Buffer.from(typeof payload === "string" ? Buffer.from(payload) : payload)
  const length = options.length ?? body.length
  const b0 = ((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode
  const maskBit = options.mask ? 0x80 : 0
  let head: Buffer
  if (length < 126) head = Buffer.from([b0, maskBit | length])
  else if (length < 65536) head = Buffer.from([b0, maskBit | 126, length >> 8, length & 0xff])
  else {
    head = Buffer.alloc(10)
    head[0] = b0
    head[1] = maskBit | 127
    head.writeBigUInt64BE(BigInt(length), 2)
  }
  if (options.mask) {
    const masked = Buffer.from(body)
    for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] as number) ^ (options.mask[i % 4] as number)
    return Buffer.concat([head, Buffer.from(options.mask), masked])
  }
  return Buffer.concat([head, body])
}

export const closePayload = (code: number, reason = ""): Buffer => {
  const out = Buffer.alloc(2 + Buffer.byteLength(reason))
  out.writeUInt16BE(code, 0)
  out.write(reason, 2)
  return out
}

const makePeer = (socket: Socket, onReady: (peer: Peer) => void): void => {
  let buffered = Buffer.alloc(0)
  let headerDone = false
  const waiters: Array<() => void> = []
  socket.on("error", () => {})
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk])
    if (!headerDone) {
      const end = buffered.indexOf("\r\n\r\n")
      if (end < 0) return
      headerDone = true
      const head = buffered.subarray(0, end).toString("latin1")
      buffered = buffered.subarray(end + 4)
      const headers: Record<string, string> = {}
      for (const line of head.split("\r\n").slice(1)) {
        const colon = line.indexOf(":")
        headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim()
      }
      onReady({
        socket,
        request: { head, headers, key: headers["sec-websocket-key"] ?? "" },
        accept: (extra) => socket.write(upgradeResponse(headers["sec-websocket-key"] ?? "", extra)),
        nextFrame,
      })
    }
    for (const waiter of waiters.splice(0)) waiter()
  })
  socket.on("close", () => {
    for (const waiter of waiters.splice(0)) waiter()
  })
  const tryParse = (): ClientFrame | undefined => {
    if (buffered.length < 2) return undefined
    const b0 = buffered[0] as number
    const b1 = buffered[1] as number
    let length = b1 & 0x7f
    let pos = 2
    if (length === 126) {
      if (buffered.length < 4) return undefined
      length = buffered.readUInt16BE(2)
      pos = 4
    } else if (length === 127) {
      if (buffered.length < 10) return undefined
      length = Number(buffered.readBigUInt64BE(2))
      pos = 10
    }
    const masked = (b1 & 0x80) !== 0
    const key = masked ? buffered.subarray(pos, pos + 4) : undefined
    if (masked) pos += 4
    if (buffered.length < pos + length) return undefined
    const payload = Buffer.from(buffered.subarray(pos, pos + length))
    if (key) for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (key[i % 4] as number)
    buffered = buffered.subarray(pos + length)
    return { fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, masked, payload }
  }
  const nextFrame = (): Promise<ClientFrame> =>
    new Promise((resolve, reject) => {
      const attempt = () => {
        const parsed = tryParse()
        if (parsed) return resolve(parsed)
        if (socket.destroyed || socket.readableEnded) return reject(new Error("socket closed before a client frame"))
        waiters.push(attempt)
      }
      attempt()
    })
}

export interface TestServer {
  /** what the connection scripts threw (assertions inside scripts land here) */
  readonly errors: Array<unknown>
  readonly port: number
  readonly url: string
  readonly close: () => Promise<void>
}

const listen = (server: Server, scheme: string, sockets: Set<Socket>, errors: Array<unknown>): Promise<TestServer> =>
  new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      resolve({
        errors,
        port,
        url: `${scheme}://127.0.0.1:${port}/backend-api/codex/responses`,
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => done())
          }),
      })
    })
  })

const run = (script: (peer: Peer) => void | Promise<void>, peer: Peer, errors: Array<unknown>): void => {
  try {
    Promise.resolve(script(peer)).catch((error: unknown) => errors.push(error))
  } catch (error) {
    errors.push(error)
  }
}

/** A plain TCP server that hands every connection's upgraded peer to `script`. */
export const startServer = (script: (peer: Peer) => void | Promise<void>): Promise<TestServer> => {
  const errors: Array<unknown> = []
  const sockets = new Set<Socket>()
  const server = createNetServer((socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    makePeer(socket, (peer) => run(script, peer, errors))
  })
  return listen(server, "ws", sockets, errors)
}

/** The same over TLS with the given PEM key and certificate. */
export const startTlsServer = (
  pem: { key: string; cert: string },
  script: (peer: Peer) => void | Promise<void>,
): Promise<TestServer> => {
  const errors: Array<unknown> = []
  const sockets = new Set<Socket>()
  const server = createTlsServer({ key: pem.key, cert: pem.cert }, (socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
    makePeer(socket, (peer) => run(script, peer, errors))
  })
  return listen(server, "wss", sockets, errors)
}

/** An echo server: every text frame comes back as a text frame; a close is answered. */
export const echoScript = (peer: Peer): void => {
  peer.accept()
  const loop = async (): Promise<void> => {
    for (;;) {
      const f = await peer.nextFrame()
      if (f.opcode === 1) peer.socket.write(frame(1, f.payload))
      else if (f.opcode === 8) {
        peer.socket.end(frame(8, f.payload))
        return
      }
    }
  }
  loop().catch(() => {})
}
