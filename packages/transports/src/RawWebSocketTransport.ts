/**
 * The WebSocket transport over the hand-rolled RFC 6455 client instead of the runtime's `WebSocket`: same
 * pool, chaining and commit point (all in `WebSocketTransport`), but a refused upgrade shows its status,
 * headers and body (the 429 `usage_limit_reached` details), and the upgrade response headers
 * (`x-codex-turn-state`, quota) are visible. Kind `"raw-websocket"`.
 */
import type { Layer } from "effect"
import { makeRawConnector, type RawWebSocketDefaults } from "./RawWebSocket.ts"
import type { Transport } from "./Transport.ts"
import { WebSocketTransport, type WebSocketTransportOptions } from "./WebSocketTransport.ts"

export interface RawWebSocketTransportOptions extends Omit<WebSocketTransportOptions, "kind" | "connector"> {
  /** socket implementation, TLS trust (tests), message cap and stall/close timeouts */
  readonly raw?: RawWebSocketDefaults
}

const withRaw = (options: RawWebSocketTransportOptions): WebSocketTransportOptions => {
  const { raw, ...rest } = options
  return { ...rest, kind: "raw-websocket", connector: makeRawConnector(raw) }
}

const make = (options: RawWebSocketTransportOptions = {}) => WebSocketTransport.make(withRaw(options))

const layerWith = (options: RawWebSocketTransportOptions = {}): Layer.Layer<Transport> =>
  WebSocketTransport.layerWith(withRaw(options))

export const RawWebSocketTransport = {
  make,
  layerWith,
  layer: layerWith(),
} as const
