export {}
export * as Frame from "./Frame.ts"
export * as FrameDecoder from "./FrameDecoder.ts"
export * as Handshake from "./Handshake.ts"
export * as RawSocket from "./RawSocket.ts"
export * as RawWebSocket from "./RawWebSocket.ts"
export * as RawWebSocketTransport from "./RawWebSocketTransport.ts"
