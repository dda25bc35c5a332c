/**
 * The WebSocket transport over the hand-rolled RFC 6455 client instead of the runtime's `WebSocket`: same
 * pool, chaining and commit point (all in `WebSocketTransport`), but a refused upgrade shows its status,
 * headers and body (the 429 `usage_limit_reached` details), and the upgrade response headers
 * (`x-codex-turn-state`, quota) are visible. Kind `"raw-websocket"`.
 */
import { makeRawConnector, type RawWebSocketOptions } from "./RawWebSocket.ts"
import { makeWebSocketTransport, type WebSocketTransportOptions } from "./WebSocketTransport.ts"

export interface RawWebSocketTransportOptions extends Omit<WebSocketTransportOptions, "kind" | "connector"> {
  /** socket implementation, TLS trust (tests), message cap and stall/close timeouts */
  readonly raw?: RawWebSocketOptions
}

export const makeRawWebSocketTransport = (options: RawWebSocketTransportOptions = {}) => {
  const { raw, ...rest } = options
  return makeWebSocketTransport({ ...rest, kind: "raw-websocket", connector: makeRawConnector(raw) })
}
