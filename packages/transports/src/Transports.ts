/**
 * All three transports at once, chosen per request from the live settings: a user who flips
 * `webSockets`/`rawWebSocket` through the config file gets the new transport on the next request, without a
 * restart. The WebSocket pools open nothing until first used and close with the layer's scope.
 */
import { Context, Effect, Layer } from "effect"
import { HttpTransport, type HttpTransportOptions } from "./HttpTransport.ts"
import { RawWebSocketTransport, type RawWebSocketTransportOptions } from "./RawWebSocketTransport.ts"
import type { TransportShape } from "./Transport.ts"
import { WebSocketTransport, type WebSocketTransportOptions } from "./WebSocketTransport.ts"

export interface TransportChoice {
  readonly webSockets: boolean
  readonly rawWebSocket: boolean
}

export interface TransportsOptions {
  readonly http?: HttpTransportOptions
  readonly websocket?: WebSocketTransportOptions
  readonly raw?: RawWebSocketTransportOptions
}

export class Transports extends Context.Service<
  Transports,
  {
    readonly http: TransportShape
    readonly websocket: TransportShape
    readonly raw: TransportShape
    readonly select: (choice: TransportChoice) => TransportShape
  }
>()("@cortexkit/openai-auth-transports/Transports") {
  static readonly layerWith = (options: TransportsOptions = {}) =>
    Layer.effect(
      Transports,
      Effect.gen(function* () {
        const clock = yield* Effect.clockWith(Effect.succeed)
        const http = HttpTransport.make({ now: () => clock.currentTimeMillisUnsafe(), ...options.http })
        const websocket = (yield* WebSocketTransport.make(options.websocket)).transport
        const raw = (yield* RawWebSocketTransport.make(options.raw)).transport
        return Transports.of({
          http,
          websocket,
          raw,
          select: (choice) => (!choice.webSockets ? http : choice.rawWebSocket ? raw : websocket),
        })
      }),
    )

  static readonly layer = Transports.layerWith()
}
