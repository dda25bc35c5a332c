/**
 * The HTTP/1.1 upgrade handshake (RFC 6455 §4): building the request and parsing the response incrementally.
 * The response may arrive in any number of chunks (even one byte at a time); whatever follows the header
 * terminator already belongs to the first WebSocket frame. A refusal (any status but 101) keeps its body
 * intact, because a 429 `usage_limit_reached` body is what the error classifier reads.
 */
import { createHash } from "node:crypto"

export const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
export const MAX_HEADER_BYTES = 64 * 1024
export const MAX_REJECTION_BODY_BYTES = 1024 * 1024

const encoder = new TextEncoder()
const latin1 = new TextDecoder("latin1")
const utf8 = new TextDecoder()

/** 16 random bytes, base64: the Sec-WebSocket-Key. */
export const makeKey = (): string => Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("base64")

export const acceptFor = (key: string): string =>
  createHash("sha1")
    .update(key + WS_GUID)
    .digest("base64")

/** Headers the handshake owns; a caller's copy of them is dropped rather than sent twice. */
const RESERVED = new Set([
  "host",
  "upgrade",
  "connection",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "content-length",
  "transfer-encoding",
])

/** The request bytes, or an error message when a header would break the request (CR/LF injection). */
export const buildRequest = (url: URL, headers: Readonly<Record<string, string>>, key: string): Uint8Array | string => {
  const defaultPort = url.protocol === "wss:" || url.protocol === "https:" ? "443" : "80"
  const host = url.port === "" || url.port === defaultPort ? url.hostname : `${url.hostname}:${url.port}`
  let head =
    `GET ${url.pathname || "/"}${url.search} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`
  for (const [name, value] of Object.entries(headers)) {
    if (RESERVED.has(name.toLowerCase())) continue
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) return `invalid header name ${JSON.stringify(name)}`
    if (/[\r\n\0]/.test(value)) return `header ${name} contains a line break`
    head += `${name}: ${value}\r\n`
  }
  return encoder.encode(`${head}\r\n`)
}

export type HandshakeResult =
  | {
      readonly _tag: "Upgraded"
      readonly headers: Record<string, string>
      /** bytes after the header terminator: the beginning of the frame stream */
      readonly rest: Uint8Array
    }
  | {
      readonly _tag: "Rejected"
      readonly status: number
      readonly headers: Record<string, string>
      readonly body: string
    }
  | { readonly _tag: "Invalid"; readonly message: string }

interface Head {
  readonly status: number
  readonly headers: Record<string, string>
}

const parseHead = (text: string): Head | string => {
  const lines = text.split("\r\n")
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? "")
  if (match === null) return `malformed status line ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`
  const headers: Record<string, string> = {}
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string
    if (line === "") continue
    const colon = line.indexOf(":")
    if (colon <= 0) return `malformed header line ${JSON.stringify(line.slice(0, 80))}`
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`
  }
  return { status: Number(match[1]), headers }
}

const hasToken = (value: string | undefined, token: string): boolean =>
  (value ?? "").split(",").some((part) => part.trim().toLowerCase() === token)

/** Decodes a complete chunked body, or returns undefined while the terminating chunk is missing. */
const dechunk = (bytes: Uint8Array): Uint8Array | undefined => {
  const parts: Array<Uint8Array> = []
  let pos = 0
  for (;;) {
    let eol = -1
    for (let i = pos; i + 1 < bytes.length; i++) {
      if (bytes[i] === 13 && bytes[i + 1] === 10) {
        eol = i
        break
      }
    }
    if (eol < 0) return undefined
    const size = Number.parseInt(latin1.decode(bytes.subarray(pos, eol)).split(";")[0] as string, 16)
    if (!Number.isFinite(size)) return bytes
    if (size === 0) break
    if (eol + 2 + size > bytes.length) return undefined
    parts.push(bytes.subarray(eol + 2, eol + 2 + size))
    pos = eol + 2 + size + 2
  }
  return Buffer.concat(parts)
}

/** Feed response bytes with `push`; it returns the outcome once known. `end` is for a socket that closed. */
export class HandshakeParser {
  private buf = new Uint8Array(1024)
  private len = 0
  private scanFrom = 0
  private head: Head | undefined = undefined
  private bodyStart = 0

  constructor(private readonly key: string) {}

  push(chunk: Uint8Array): HandshakeResult | undefined {
    this.append(chunk)
    if (this.head === undefined) {
      const end = this.findTerminator()
      if (end < 0) {
        if (this.len > MAX_HEADER_BYTES)
          return { _tag: "Invalid", message: `response header block over ${MAX_HEADER_BYTES} bytes` }
        return undefined
      }
      if (end > MAX_HEADER_BYTES)
        return { _tag: "Invalid", message: `response header block over ${MAX_HEADER_BYTES} bytes` }
      const parsed = parseHead(latin1.decode(this.buf.subarray(0, end)))
      if (typeof parsed === "string") return { _tag: "Invalid", message: parsed }
      this.head = parsed
      this.bodyStart = end + 4
      if (parsed.status === 101) return this.verify(parsed)
    }
    return this.body(false)
  }

  /** The socket closed: a refusal without a length ends here; anything else is a truncated handshake. */
  end(): HandshakeResult {
    if (this.head === undefined) {
      return {
        _tag: "Invalid",
        message:
          this.len === 0
            ? "connection closed before the handshake response"
            : "connection closed inside the handshake response",
      }
    }
    return this.body(true) ?? { _tag: "Invalid", message: "connection closed inside the refusal body" }
  }

  private append(chunk: Uint8Array): void {
    if (this.len + chunk.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + chunk.length))
      grown.set(this.buf.subarray(0, this.len))
      this.buf = grown
    }
    this.buf.set(chunk, this.len)
    this.len += chunk.length
  }

  /** Index of "\r\n\r\n", scanning only bytes not scanned before (1-byte chunks stay linear). */
  private findTerminator(): number {
    const b = this.buf
    for (let i = Math.max(0, this.scanFrom - 3); i + 3 < this.len; i++) {
      if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i
    }
    this.scanFrom = this.len
    return -1
  }

  private verify(head: Head): HandshakeResult {
    const h = head.headers
    if (h.upgrade?.toLowerCase() !== "websocket") return { _tag: "Invalid", message: "101 without Upgrade: websocket" }
    if (!hasToken(h.connection, "upgrade")) return { _tag: "Invalid", message: "101 without Connection: Upgrade" }
    if (h["sec-websocket-accept"] !== acceptFor(this.key)) {
      return { _tag: "Invalid", message: "Sec-WebSocket-Accept does not match the key" }
    }
    if (h["sec-websocket-extensions"] !== undefined) {
      return {
        _tag: "Invalid",
        message: `server chose an extension that was not offered: ${h["sec-websocket-extensions"]}`,
      }
    }
    return { _tag: "Upgraded", headers: h, rest: this.buf.slice(this.bodyStart, this.len) }
  }

  private body(closed: boolean): HandshakeResult | undefined {
    const head = this.head as Head
    const bytes = this.buf.subarray(this.bodyStart, this.len)
    const reject = (body: Uint8Array): HandshakeResult => ({
      _tag: "Rejected",
      status: head.status,
      headers: head.headers,
      body: utf8.decode(body.subarray(0, MAX_REJECTION_BODY_BYTES)),
    })
    const lengthHeader = head.headers["content-length"]
    if (lengthHeader !== undefined) {
      const length = Number(lengthHeader)
      if (!Number.isSafeInteger(length) || length < 0)
        return { _tag: "Invalid", message: `bad content-length ${lengthHeader}` }
      const want = Math.min(length, MAX_REJECTION_BODY_BYTES)
      if (bytes.length >= want) return reject(bytes.subarray(0, want))
      return closed ? reject(bytes) : undefined
    }
    if (hasToken(head.headers["transfer-encoding"], "chunked")) {
      const decoded = dechunk(bytes)
      if (decoded !== undefined) return reject(decoded)
      if (bytes.length > MAX_REJECTION_BODY_BYTES || closed) return reject(bytes)
      return undefined
    }
    if (head.status === 204 || head.status === 304 || (head.status >= 100 && head.status < 200))
      return reject(bytes.subarray(0, 0))
    // No framing: the body runs until the server closes the connection.
    if (closed || bytes.length >= MAX_REJECTION_BODY_BYTES) return reject(bytes)
    return undefined
  }
}
