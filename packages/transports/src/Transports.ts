/**
 * All three transports, chosen per request from the live settings: a user who flips
 * `webSockets`/`rawWebSocket` through the config file gets the new transport on the next request, without a
 * restart. The WebSocket transports are loaded (`import()`) and their pools built on their first request, in
 * the layer's scope: a plugin that never uses them never loads their code. The pools open nothing until first
 * used and close with the layer's scope.
 */
import { Context, Effect, Layer, Scope } from "effect"
import { type HttpTransportOptions, makeHttpTransport } from "./HttpTransport.ts"
import type { RawWebSocketTransportOptions } from "./RawWebSocketTransport.ts"
import type { TransportKind, TransportShape } from "./Transport.ts"
import type { WebSocketTransportOptions } from "./WebSocketTransport.ts"

export interface TransportChoice {
  readonly webSockets: boolean
  readonly rawWebSocket: boolean
}

export interface TransportsOptions {
  readonly http?: HttpTransportOptions
  readonly websocket?: WebSocketTransportOptions
  readonly raw?: RawWebSocketTransportOptions
}

/** A transport built by `build` on its first request (once, even when requests race), inside `scope`. */
const onFirstUse = Effect.fnUntraced(function* (
  kind: TransportKind,
  build: Effect.Effect<{ readonly transport: TransportShape }, never, Scope.Scope>,
  scope: Scope.Scope,
) {
  const built = yield* Effect.cached(
    build.pipe(
      Effect.map((made) => made.transport),
      Scope.provide(scope),
    ),
  )
  const transport: TransportShape = {
    kind,
    send: (request, onEvent) => Effect.flatMap(built, (t) => t.send(request, onEvent)),
  }
  return transport
})

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
        const scope = yield* Effect.scope
        const http = yield* makeHttpTransport(options.http)
        const websocket = yield* onFirstUse(
          "websocket",
          Effect.promise(() => import("./WebSocketTransport.ts")).pipe(
            Effect.flatMap((m) => m.makeWebSocketTransport(options.websocket)),
          ),
          scope,
        )
        const raw = yield* onFirstUse(
          "raw-websocket",
          Effect.promise(() => import("./RawWebSocketTransport.ts")).pipe(
            Effect.flatMap((m) => m.makeRawWebSocketTransport(options.raw)),
          ),
          scope,
        )
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
