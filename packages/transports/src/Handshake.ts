/**
 * The HTTP/1.1 upgrade handshake (RFC 6455 §4), client side. This module builds the request; the nonce and
 * its accept value are in `HandshakeKey`, the response parser in `HandshakeResponse` (over the head grammar
 * of `UpgradeHead`), all re-exported here as the handshake's one public surface.
 */
export { acceptFor, makeKey, prepareKey, takeKey, WS_GUID } from "./HandshakeKey.ts"
export {
  HandshakeParser,
  type HandshakeResult,
  MAX_HEADER_BYTES,
  MAX_REJECTION_BODY_BYTES,
} from "./HandshakeResponse.ts"

const encoder = new TextEncoder()
const EMPTY = new Uint8Array(0)

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
