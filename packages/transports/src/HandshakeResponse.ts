/**
 * The upgrade response, parsed incrementally: it may arrive in any number of chunks (even one byte at a
 * time); whatever follows the header terminator already belongs to the first WebSocket frame. A refusal (any
 * status but 101) keeps its body intact, because a 429 `usage_limit_reached` body is what the error
 * classifier reads.
 */
import { acceptFor } from "./HandshakeKey.ts"
import { type Head, hasToken, latin1, MAX_HEADER_BYTES, parseHead, refuse101, scan101 } from "./UpgradeHead.ts"

export { MAX_HEADER_BYTES }
export const MAX_REJECTION_BODY_BYTES = 1024 * 1024

const EMPTY = new Uint8Array(0)
const utf8 = new TextDecoder()

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

const TERMINATOR = Buffer.from("\r\n\r\n")

/** Index of CR LF CR LF in `bytes[from, to)`: one native search on a Buffer, else one per CR. */
const findTerminator = (bytes: Uint8Array, from: number, to: number): number => {
  if (bytes instanceof Buffer && to === bytes.length) return bytes.indexOf(TERMINATOR, from)
  let i = bytes.indexOf(13, from)
  while (i >= 0 && i + 3 < to) {
    if (bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) return i
    i = bytes.indexOf(13, i + 1)
  }
  return -1
}

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
    const size = Number.parseInt(latin1(bytes, pos, eol).split(";")[0] as string, 16)
    if (!Number.isFinite(size)) return bytes
    if (size === 0) break
    if (eol + 2 + size > bytes.length) return undefined
    parts.push(bytes.subarray(eol + 2, eol + 2 + size))
    pos = eol + 2 + size + 2
  }
  return Buffer.concat(parts)
}

const oversized: HandshakeResult = { _tag: "Invalid", message: `response header block over ${MAX_HEADER_BYTES} bytes` }

/**
 * Feed response bytes with `push`; it returns the outcome once known. `end` is for a socket that closed.
 * The usual response, a whole 101 in one chunk, is read straight from that chunk: nothing is buffered.
 */
export class HandshakeParser {
  private buf: Uint8Array = EMPTY
  private len = 0
  private scanFrom = 0
  private head: Head | undefined = undefined
  private bodyStart = 0
  /** computed with the request, before the answer can arrive */
  private readonly accept: string

  /** `accept`: what `Sec-WebSocket-Accept` must be for `key` (when already known) */
  constructor(key: string, accept = acceptFor(key)) {
    this.accept = accept
  }

  push(chunk: Uint8Array): HandshakeResult | undefined {
    if (this.head === undefined && this.len === 0) {
      const fast = scan101(chunk, chunk.length, this.accept)
      if (fast !== undefined) return fast
      const end = findTerminator(chunk, 0, chunk.length)
      if (end >= 0 && end <= MAX_HEADER_BYTES) {
        return this.decide(chunk, end, end + 4 === chunk.length ? EMPTY : chunk.slice(end + 4), end + 4)
      }
    }
    this.append(chunk)
    if (this.head === undefined) {
      const end = findTerminator(this.buf, Math.max(0, this.scanFrom - 3), this.len)
      if (end < 0) {
        this.scanFrom = this.len
        return this.len > MAX_HEADER_BYTES ? oversized : undefined
      }
      if (end > MAX_HEADER_BYTES) return oversized
      const fast = scan101(this.buf, this.len, this.accept)
      if (fast !== undefined) return fast
      return this.decide(this.buf, end, this.buf.slice(end + 4, this.len), end + 4)
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

  /** Anything but a plain 101: the head is `bytes[0, end)`, `rest` what follows it, at `bodyStart`. */
  private decide(bytes: Uint8Array, end: number, rest: Uint8Array, bodyStart: number): HandshakeResult | undefined {
    const parsed = parseHead(latin1(bytes, 0, end))
    if (typeof parsed === "string") return { _tag: "Invalid", message: parsed }
    this.head = parsed
    if (parsed.status === 101) return this.verify(parsed, rest)
    if (bytes !== this.buf) this.append(bytes)
    this.bodyStart = bodyStart
    return this.body(false)
  }

  private append(chunk: Uint8Array): void {
    if (this.len + chunk.length > this.buf.length) {
      const grown = new Uint8Array(Math.max(this.buf.length * 2, this.len + chunk.length, 1024))
      grown.set(this.buf.subarray(0, this.len))
      this.buf = grown
    }
    this.buf.set(chunk, this.len)
    this.len += chunk.length
  }

  private verify(head: Head, rest: Uint8Array): HandshakeResult {
    const h = head.headers
    const refused = refuse101(
      h.upgrade,
      h.connection,
      h["sec-websocket-accept"],
      h["sec-websocket-extensions"],
      this.accept,
    )
    return refused === undefined ? { _tag: "Upgraded", headers: h, rest } : { _tag: "Invalid", message: refused }
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
