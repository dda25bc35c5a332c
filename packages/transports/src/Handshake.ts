/**
 * The HTTP/1.1 upgrade handshake (RFC 6455 §4): building the request and parsing the response incrementally.
 * The response may arrive in any number of chunks (even one byte at a time); whatever follows the header
 * terminator already belongs to the first WebSocket frame. A refusal (any status but 101) keeps its body
 * intact, because a 429 `usage_limit_reached` body is what the error classifier reads.
 */
import { createHash } from "node:crypto"
import { randomView } from "./Frame.ts"

export const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
export const MAX_HEADER_BYTES = 64 * 1024
export const MAX_REJECTION_BODY_BYTES = 1024 * 1024

const encoder = new TextEncoder()
const EMPTY = new Uint8Array(0)
const utf8 = new TextDecoder()

type Base64Able = Uint8Array & { toBase64?: () => string }

/** 16 random bytes, base64: the Sec-WebSocket-Key (the runtime's own `toBase64` where there is one). */
export const makeKey = (): string => {
  const bytes = randomView(16) as Base64Able
  return bytes.toBase64 !== undefined ? bytes.toBase64() : Buffer.from(bytes).toString("base64")
}

const bunSha1 = (globalThis as { Bun?: { SHA1: { hash: (input: string, encoding: "base64") => string } } }).Bun?.SHA1

/** Bun's one-shot SHA1 is about three times cheaper than a `node:crypto` hash object; both give the same bytes. */
export const acceptFor = (key: string): string =>
  bunSha1 !== undefined
    ? bunSha1.hash(key + WS_GUID, "base64")
    : createHash("sha1")
        .update(key + WS_GUID)
        .digest("base64")

/**
 * One key and its accept value made ahead, when a connection ends (off anyone's clock), for the next connect
 * to take: a nonce made a little early is as good as one made now, and it is still used once.
 */
let spareKey: string | undefined
let spareAccept = ""
let takenKey: string | undefined
let takenAccept = ""

export const prepareKey = (): void => {
  if (spareKey !== undefined) return
  spareKey = makeKey()
  spareAccept = acceptFor(spareKey)
}

/** A fresh key: the prepared one when there is one (its accept value goes to the parser made for it). */
export const takeKey = (): string => {
  if (spareKey === undefined) return makeKey()
  takenKey = spareKey
  takenAccept = spareAccept
  spareKey = undefined
  return takenKey
}

/** Bytes as latin1 text (one native call; `TextDecoder("latin1")` is windows-1252 and slower). */
const latin1 = (bytes: Uint8Array, start: number, end: number): string =>
  (bytes instanceof Buffer ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)).toString(
    "latin1",
    start,
    end,
  )

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

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/
const LINE_BREAK = /[\r\n\0]/

/** Pooled sockets reconnect to the same URL object (the raw client caches its parse): its request line too. */
let lastUrl: URL | undefined
let lastPrefix = ""
let lastPrefixBytes: Uint8Array = EMPTY

const requestPrefix = (url: URL): string => {
  if (url === lastUrl) return lastPrefix
  const defaultPort = url.protocol === "wss:" || url.protocol === "https:" ? "443" : "80"
  const host = url.port === "" || url.port === defaultPort ? url.hostname : `${url.hostname}:${url.port}`
  lastPrefix =
    `GET ${url.pathname || "/"}${url.search} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\n` +
    "Connection: Upgrade\r\nSec-WebSocket-Key: "
  lastPrefixBytes = encoder.encode(lastPrefix)
  lastUrl = url
  return lastPrefix
}

/**
 * The caller's headers usually repeat from one connect to the next (same token, same account): the checked
 * and encoded tail of the last request is kept with the names and values it was built from, so a repeat is
 * one comparison per header instead of checks, concatenation and encoding.
 */
let lastNames: Array<string> = []
let lastValues: Array<string> = []
let lastSuffix: Uint8Array | undefined

const sameHeaders = (headers: Readonly<Record<string, string>>): boolean => {
  let i = 0
  for (const name in headers) {
    if (lastNames[i] !== name || lastValues[i] !== headers[name]) return false
    i++
  }
  return i === lastNames.length
}

/** The request bytes, or an error message when a header would break the request (CR/LF injection). */
export const buildRequest = (url: URL, headers: Readonly<Record<string, string>>, key: string): Uint8Array | string => {
  requestPrefix(url)
  if (lastSuffix === undefined || !sameHeaders(headers)) {
    let tail = "\r\nSec-WebSocket-Version: 13\r\n"
    const names: Array<string> = []
    const values: Array<string> = []
    // for-in over a plain record: no entries array on the connect path
    for (const name in headers) {
      const value = headers[name] as string
      names.push(name)
      values.push(value)
      if (RESERVED.has(name.toLowerCase())) continue
      if (!TOKEN.test(name)) return `invalid header name ${JSON.stringify(name)}`
      if (LINE_BREAK.test(value)) return `header ${name} contains a line break`
      tail += `${name}: ${value}\r\n`
    }
    lastSuffix = encoder.encode(`${tail}\r\n`)
    lastNames = names
    lastValues = values
  }
  const prefix = lastPrefixBytes
  const suffix = lastSuffix
  const keyLength = key.length
  const out = new Uint8Array(prefix.length + keyLength + suffix.length)
  out.set(prefix)
  let pos = prefix.length
  for (let i = 0; i < keyLength; i++) {
    const code = key.charCodeAt(i)
    // a key is base64; anything else goes through the encoder
    if (code > 0x7f) return encoder.encode(`${lastPrefix}${key}${new TextDecoder().decode(suffix)}`)
    out[pos++] = code
  }
  out.set(suffix, pos)
  return out
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

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/

/** Walks the lines with `indexOf` on the one decoded string: no split array, no per-line regex. */
const parseHead = (text: string): Head | string => {
  let eol = text.indexOf("\r\n")
  if (eol < 0) eol = text.length
  const statusLine = text.slice(0, eol)
  const match = STATUS_LINE.exec(statusLine)
  if (match === null) return `malformed status line ${JSON.stringify(statusLine.slice(0, 80))}`
  const headers: Record<string, string> = {}
  let pos = eol + 2
  while (pos < text.length) {
    let end = text.indexOf("\r\n", pos)
    if (end < 0) end = text.length
    if (end > pos) {
      const colon = text.indexOf(":", pos)
      if (colon <= pos || colon >= end) {
        return `malformed header line ${JSON.stringify(text.slice(pos, Math.min(end, pos + 80)))}`
      }
      const name = text.slice(pos, colon).trim().toLowerCase()
      const value = text.slice(colon + 1, end).trim()
      const seen = headers[name]
      headers[name] = seen === undefined ? value : `${seen}, ${value}`
    }
    pos = end + 2
  }
  return { status: Number(match[1]), headers }
}

function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false
  const lower = value.toLowerCase()
  return lower === token || lower.split(",").some((part) => part.trim() === token)
}

/**
 * A 101 status line (as `STATUS_LINE` reads it: latin1 text has no other line terminators than CR and LF)
 * followed only by `token:value` lines with no stray CR or LF, on which `parseHead` cannot fail.
 */
const SIMPLE_101 = /^HTTP\/1\.[01] 101(?: [^\r\n]*)?(?:\r\n[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*)*$/
const CHECKED = /\r\n(upgrade|connection|sec-websocket-accept|sec-websocket-extensions):([^\r\n]*)/gi

const join = (seen: string | undefined, value: string): string => (seen === undefined ? value : `${seen}, ${value}`)

/** Why a 101 is not a valid upgrade for `accept`, or undefined when it is. */
const refuse101 = (
  upgrade: string | undefined,
  connection: string | undefined,
  accept: string | undefined,
  extensions: string | undefined,
  expected: string,
): string | undefined => {
  if (upgrade?.toLowerCase() !== "websocket") return "101 without Upgrade: websocket"
  if (!hasToken(connection, "upgrade")) return "101 without Connection: Upgrade"
  if (accept !== expected) return "Sec-WebSocket-Accept does not match the key"
  if (extensions !== undefined) return `server chose an extension that was not offered: ${extensions}`
  return undefined
}

/**
 * The usual 101 decided from the four headers the check reads, found by one native regex scan; the full
 * header record is parsed only if someone reads it. Undefined when the head is not a well-formed 101: the
 * full parse then decides, with its exact messages.
 */
const quick101 = (text: string, expected: string, rest: Uint8Array): HandshakeResult | undefined => {
  if (!SIMPLE_101.test(text)) return undefined
  let upgrade: string | undefined
  let connection: string | undefined
  let accept: string | undefined
  let extensions: string | undefined
  CHECKED.lastIndex = 0
  for (let m = CHECKED.exec(text); m !== null; m = CHECKED.exec(text)) {
    const value = (m[2] as string).trim()
    const length = (m[1] as string).length
    if (length === 7) upgrade = join(upgrade, value)
    else if (length === 10) connection = join(connection, value)
    else if (length === 20) accept = join(accept, value)
    else extensions = join(extensions, value)
  }
  const refused = refuse101(upgrade, connection, accept, extensions, expected)
  if (refused !== undefined) return { _tag: "Invalid", message: refused }
  let headers: Record<string, string> | undefined
  return {
    _tag: "Upgraded",
    get headers() {
      headers ??= (parseHead(text) as Head).headers
      return headers
    },
    rest,
  }
}

/** RFC 7230 token bytes: a header name is one. */
const TOKEN_BYTE = new Uint8Array(256)
for (const c of "!#$%&'*+.^_`|~-") TOKEN_BYTE[c.charCodeAt(0)] = 1
for (let c = 48; c <= 57; c++) TOKEN_BYTE[c] = 1
for (let c = 65; c <= 90; c++) TOKEN_BYTE[c] = TOKEN_BYTE[c + 32] = 1

const NAME_UPGRADE = "upgrade"
const NAME_CONNECTION = "connection"
const NAME_ACCEPT = "sec-websocket-accept"
const NAME_EXTENSIONS = "sec-websocket-extensions"

/** `bytes[from, from + name.length)` is `name` ignoring ASCII case (the bytes are already token bytes). */
const nameIs = (bytes: Uint8Array, from: number, length: number, name: string): boolean => {
  if (length !== name.length) return false
  for (let i = 0; i < length; i++) if (((bytes[from + i] as number) | 0x20) !== name.charCodeAt(i)) return false
  return true
}

/**
 * `quick101` straight over the bytes of the head `bytes[0, end)`: the same grammar (a 101 status line, then
 * only `token:value` lines) checked in one pass, and only the four headers the check reads turned into text.
 * Undefined whenever the head is anything else, for the text paths to decide with their exact messages.
 */
const quickBytes101 = (
  bytes: Uint8Array,
  end: number,
  expected: string,
  rest: Uint8Array,
): HandshakeResult | undefined => {
  // "HTTP/1.x 101"
  if (
    end < 12 ||
    bytes[0] !== 72 ||
    bytes[1] !== 84 ||
    bytes[2] !== 84 ||
    bytes[3] !== 80 ||
    bytes[4] !== 47 ||
    bytes[5] !== 49 ||
    bytes[6] !== 46 ||
    (bytes[7] !== 48 && bytes[7] !== 49) ||
    bytes[8] !== 32 ||
    bytes[9] !== 49 ||
    bytes[10] !== 48 ||
    bytes[11] !== 49
  )
    return undefined
  let pos = 12
  if (pos < end && bytes[pos] !== 13) {
    if (bytes[pos] !== 32) return undefined
    while (pos < end && bytes[pos] !== 13) {
      if (bytes[pos] === 10) return undefined
      pos++
    }
  }
  let upgrade: string | undefined
  let connection: string | undefined
  let accept: string | undefined
  let extensions: string | undefined
  while (pos < end) {
    // at a CR: the line break before the next header line
    if (bytes[pos + 1] !== 10) return undefined
    const start = pos + 2
    let colon = start
    while (colon < end && TOKEN_BYTE[bytes[colon] as number] === 1) colon++
    if (colon === start || colon >= end || bytes[colon] !== 58) return undefined
    let eol = colon + 1
    while (eol < end && bytes[eol] !== 13) {
      if (bytes[eol] === 10) return undefined
      eol++
    }
    const length = colon - start
    if (length === 7 && nameIs(bytes, start, length, NAME_UPGRADE)) {
      upgrade = join(upgrade, latin1(bytes, colon + 1, eol).trim())
    } else if (length === 10 && nameIs(bytes, start, length, NAME_CONNECTION)) {
      connection = join(connection, latin1(bytes, colon + 1, eol).trim())
    } else if (length === 20 && nameIs(bytes, start, length, NAME_ACCEPT)) {
      accept = join(accept, latin1(bytes, colon + 1, eol).trim())
    } else if (length === 24 && nameIs(bytes, start, length, NAME_EXTENSIONS)) {
      extensions = join(extensions, latin1(bytes, colon + 1, eol).trim())
    }
    pos = eol
  }
  const refused = refuse101(upgrade, connection, accept, extensions, expected)
  if (refused !== undefined) return { _tag: "Invalid", message: refused }
  return new Upgraded(latin1(bytes, 0, end), rest)
}

/** An accepted upgrade whose full header record is parsed only if someone reads it. */
class Upgraded {
  readonly _tag = "Upgraded" as const
  private parsed: Record<string, string> | undefined = undefined
  constructor(
    private readonly text: string,
    readonly rest: Uint8Array,
  ) {}
  get headers(): Record<string, string> {
    this.parsed ??= (parseHead(this.text) as Head).headers
    return this.parsed
  }
}

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

/**
 * Feed response bytes with `push`; it returns the outcome once known. `end` is for a socket that closed.
 * The usual response, a whole 101 in one chunk, is parsed straight from that chunk: nothing is buffered.
 */
export class HandshakeParser {
  private buf: Uint8Array = EMPTY
  private len = 0
  private scanFrom = 0
  private head: Head | undefined = undefined
  private bodyStart = 0
  /** computed up front, so that it costs nothing once the answer is in */
  private readonly accept: string

  constructor(key: string) {
    this.accept = key === takenKey ? takenAccept : acceptFor(key)
  }

  push(chunk: Uint8Array): HandshakeResult | undefined {
    if (this.head === undefined && this.len === 0) {
      const end = findTerminator(chunk, 0, chunk.length)
      if (end >= 0 && end <= MAX_HEADER_BYTES) {
        const fast = quickBytes101(chunk, end, this.accept, end + 4 === chunk.length ? EMPTY : chunk.slice(end + 4))
        if (fast !== undefined) return fast
        const text = latin1(chunk, 0, end)
        const upgraded = quick101(text, this.accept, chunk.slice(end + 4))
        if (upgraded !== undefined) return upgraded
        const parsed = parseHead(text)
        if (typeof parsed === "string") return { _tag: "Invalid", message: parsed }
        this.head = parsed
        if (parsed.status === 101) return this.verify(parsed, chunk.slice(end + 4))
        this.bodyStart = end + 4
      }
    }
    this.append(chunk)
    if (this.head === undefined) {
      const end = findTerminator(this.buf, Math.max(0, this.scanFrom - 3), this.len)
      if (end < 0) {
        this.scanFrom = this.len
        if (this.len > MAX_HEADER_BYTES)
          return { _tag: "Invalid", message: `response header block over ${MAX_HEADER_BYTES} bytes` }
        return undefined
      }
      if (end > MAX_HEADER_BYTES)
        return { _tag: "Invalid", message: `response header block over ${MAX_HEADER_BYTES} bytes` }
      const fast = quickBytes101(this.buf, end, this.accept, this.buf.slice(end + 4, this.len))
      if (fast !== undefined) return fast
      const text = latin1(this.buf, 0, end)
      const upgraded = quick101(text, this.accept, this.buf.slice(end + 4, this.len))
      if (upgraded !== undefined) return upgraded
      const parsed = parseHead(text)
      if (typeof parsed === "string") return { _tag: "Invalid", message: parsed }
      this.head = parsed
      this.bodyStart = end + 4
      if (parsed.status === 101) return this.verify(parsed, this.buf.slice(this.bodyStart, this.len))
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
