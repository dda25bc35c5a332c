/**
 * The head of the upgrade response (status line and header lines, RFC 7230 §3) and the checks a 101 must
 * pass (RFC 6455 §4.1): the usual 101 is accepted straight from its bytes in one pass, with no header turned
 * into text; anything else goes through the full line parser and its exact messages.
 */

/** a longer head is refused rather than buffered without bound */
export const MAX_HEADER_BYTES = 64 * 1024

const EMPTY = new Uint8Array(0)

export interface Head {
  readonly status: number
  readonly headers: Record<string, string>
}

/** Bytes as latin1 text (one native call; `TextDecoder("latin1")` is windows-1252 and slower). */
export const latin1 = (bytes: Uint8Array, start: number, end: number): string =>
  (bytes instanceof Buffer ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length)).toString(
    "latin1",
    start,
    end,
  )

const STATUS_LINE = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/

/** Walks the lines with `indexOf` on the one decoded string: no split array, no per-line regex. */
export const parseHead = (text: string): Head | string => {
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

export function hasToken(value: string | undefined, token: string): boolean {
  if (value === undefined) return false
  const lower = value.toLowerCase()
  return lower === token || lower.split(",").some((part) => part.trim() === token)
}

/** Why a 101 is not a valid upgrade for `accept`, or undefined when it is. */
export const refuse101 = (
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

/** RFC 7230 token bytes: a header name is one. */
const TOKEN_BYTE = new Uint8Array(256)
for (const c of "!#$%&'*+.^_`|~-") TOKEN_BYTE[c.charCodeAt(0)] = 1
for (let c = 48; c <= 57; c++) TOKEN_BYTE[c] = 1
for (let c = 65; c <= 90; c++) TOKEN_BYTE[c] = TOKEN_BYTE[c + 32] = 1

/** `bytes[from, from + name.length)` is `name` ignoring ASCII case (the bytes are already token bytes). */
const nameIs = (bytes: Uint8Array, from: number, length: number, name: string): boolean => {
  if (length !== name.length) return false
  for (let i = 0; i < length; i++) if (((bytes[from + i] as number) | 0x20) !== name.charCodeAt(i)) return false
  return true
}

/**
 * An accepted upgrade whose full header record is parsed only if someone reads it. It keeps a view of the
 * head's bytes, not a copy: chunks given to the parser are never written to afterwards (a socket's chunks are
 * fresh buffers, and the parser only appends past what it holds).
 */
export class Upgraded {
  readonly _tag = "Upgraded" as const
  private parsed: Record<string, string> | undefined = undefined
  constructor(
    private readonly head: Uint8Array,
    /** bytes after the header terminator: the beginning of the frame stream */
    readonly rest: Uint8Array,
  ) {}
  get headers(): Record<string, string> {
    this.parsed ??= (parseHead(latin1(this.head, 0, this.head.length)) as Head).headers
    return this.parsed
  }
}

/** `bytes[from, to)`, without surrounding spaces and tabs, is `text` (ASCII letters in any case when `fold`). */
const valueIs = (bytes: Uint8Array, from: number, to: number, text: string, fold: boolean): boolean => {
  while (from < to && (bytes[from] === 32 || bytes[from] === 9)) from++
  while (to > from && (bytes[to - 1] === 32 || bytes[to - 1] === 9)) to--
  if (to - from !== text.length) return false
  const mask = fold ? 0x20 : 0
  for (let i = 0; i < text.length; i++) if (((bytes[from + i] as number) | mask) !== text.charCodeAt(i)) return false
  return true
}

/**
 * A whole 101 head at the start of `bytes[0, to)` accepted straight from its bytes, its end found on the way
 * (no separate search for the blank line), with no text made but the head kept for a lazy parse. It takes a
 * 101 status line, then only `token:value` lines (on which `parseHead` cannot fail), holding exactly one
 * `Upgrade: websocket`, one `Connection: upgrade`, one `Sec-WebSocket-Accept` equal to `expected` and no
 * `Sec-WebSocket-Extensions`, all within `MAX_HEADER_BYTES`. Undefined for anything else, including every
 * refusal and a head not complete yet: the full parse then decides with its exact messages, so this path
 * only ever says yes where that one would too.
 */
export const scan101 = (bytes: Uint8Array, to: number, expected: string): Upgraded | undefined => {
  // "HTTP/1.x 101"
  if (
    to < 16 ||
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
  if (bytes[pos] !== 13) {
    if (bytes[pos] !== 32) return undefined
    while (pos < to && bytes[pos] !== 13) {
      if (bytes[pos] === 10) return undefined
      pos++
    }
  }
  let upgrade = 0
  let connection = 0
  let accept = 0
  // at a CR: the end of the line before, and of the head when a blank line follows
  for (;;) {
    if (pos + 3 >= to || bytes[pos + 1] !== 10) return undefined
    if (bytes[pos + 2] === 13) {
      if (bytes[pos + 3] !== 10) return undefined
      break
    }
    const start = pos + 2
    let colon = start
    while (colon < to && TOKEN_BYTE[bytes[colon] as number] === 1) colon++
    if (colon === start || colon >= to || bytes[colon] !== 58) return undefined
    // a bare LF inside a value is value to `parseHead` as well: only CR ends a line
    let eol = colon + 1
    while (eol < to && bytes[eol] !== 13) eol++
    const length = colon - start
    if (length === 7 && nameIs(bytes, start, length, "upgrade")) {
      if (upgrade++ > 0 || !valueIs(bytes, colon + 1, eol, "websocket", true)) return undefined
    } else if (length === 10 && nameIs(bytes, start, length, "connection")) {
      if (connection++ > 0 || !valueIs(bytes, colon + 1, eol, "upgrade", true)) return undefined
    } else if (length === 20 && nameIs(bytes, start, length, "sec-websocket-accept")) {
      if (accept++ > 0 || !valueIs(bytes, colon + 1, eol, expected, false)) return undefined
    } else if (length === 24 && nameIs(bytes, start, length, "sec-websocket-extensions")) {
      return undefined
    }
    pos = eol
  }
  if (upgrade !== 1 || connection !== 1 || accept !== 1 || pos > MAX_HEADER_BYTES) return undefined
  return new Upgraded(bytes.subarray(0, pos), pos + 4 === to ? EMPTY : bytes.slice(pos + 4, to))
}
