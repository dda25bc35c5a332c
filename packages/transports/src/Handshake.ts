/**
 * The HTTP/1.1 upgrade handshake (RFC 6455 §4), client side. This module builds the request; the nonce and
 * its accept value are in `HandshakeKey`, the response parser in `HandshakeResponse` (over the head grammar
 * of `UpgradeHead`), all re-exported here as the handshake's one public surface.
 */
export { acceptFor, makeKey, WS_GUID } from "./HandshakeKey.ts"
export {
  HandshakeParser,
  type HandshakeResult,
  MAX_HEADER_BYTES,
  MAX_REJECTION_BODY_BYTES,
} from "./HandshakeResponse.ts"

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

export type UpgradeRequest =
  | { readonly _tag: "Request"; readonly text: string }
  | { readonly _tag: "InvalidHeader"; readonly message: string }

/**
 * The request's text (the connection encodes it into its writer's buffer), or why a header would break the
 * request (CR/LF injection, a name that is not a token).
 */
export const buildRequest = (url: URL, headers: Readonly<Record<string, string>>, key: string): UpgradeRequest => {
  const defaultPort = url.protocol === "wss:" || url.protocol === "https:" ? "443" : "80"
  const host = url.port === "" || url.port === defaultPort ? url.hostname : `${url.hostname}:${url.port}`
  let text =
    `GET ${url.pathname || "/"}${url.search} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\n` +
    `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n`
  // for-in over a plain record: no entries array on the connect path
  for (const name in headers) {
    const value = headers[name] as string
    if (RESERVED.has(name.toLowerCase())) continue
    if (!TOKEN.test(name)) return { _tag: "InvalidHeader", message: `invalid header name ${JSON.stringify(name)}` }
    if (LINE_BREAK.test(value)) return { _tag: "InvalidHeader", message: `header ${name} contains a line break` }
    text += `${name}: ${value}\r\n`
  }
  return { _tag: "Request", text: `${text}\r\n` }
}
