/**
 * The project's only door to `effect/http` (through internal/http-fetch.ts). The module is `@stability
 * unstable`, so every other file speaks this small, buffered request/response shape instead, and an upstream
 * API change is fixed there once.
 *
 * Every answer is read with a cap (1 MiB unless the request says otherwise): the token, usage and device
 * endpoints answer a few KB, and a proxy or a broken server that streams more is cut off and reported instead
 * of filling the memory of the process that hosts us. A timeout says where it happened: no first byte (the
 * server accepted and stalled, or never answered), or a body that stopped coming.
 */
import { Context, Duration, Effect, Layer, Schema } from "effect"

export type HttpBody =
  | { readonly _tag: "Form"; readonly fields: Readonly<Record<string, string>> }
  | { readonly _tag: "Json"; readonly value: unknown }
  | { readonly _tag: "Text"; readonly text: string; readonly contentType: string }

export interface HttpRequest {
  readonly method: "GET" | "POST"
  readonly url: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: HttpBody
  /** For the whole exchange, through the Clock, so a TestClock can trigger it. Default 30 s. */
  readonly timeout?: Duration.Input
  /** the most body bytes read; a longer answer fails (default `DEFAULT_MAX_BODY_BYTES`) */
  readonly maxBodyBytes?: number
}

/** A fully read response: the body is always read as text (callers decode it with Schema). */
export interface HttpResponse {
  readonly status: number
  /** lower-case names */
  readonly headers: Readonly<Record<string, string>>
  readonly text: string
}

/** The request never produced a complete response: connect/DNS/reset, an unreadable body, or the timeout. */
export class HttpError extends Schema.TaggedError<HttpError>()("HttpError", {
  method: Schema.String,
  url: Schema.String,
  message: Schema.String,
  timedOut: Schema.Boolean,
  cause: Schema.optional(Schema.Defect()),
}) {}

export interface HttpShape {
  readonly request: (request: HttpRequest) => Effect.Effect<HttpResponse, HttpError>
  readonly get: (
    url: string,
    options?: Omit<HttpRequest, "method" | "url" | "body">,
  ) => Effect.Effect<HttpResponse, HttpError>
  readonly postForm: (
    url: string,
    fields: Readonly<Record<string, string>>,
    options?: Omit<HttpRequest, "method" | "url" | "body">,
  ) => Effect.Effect<HttpResponse, HttpError>
  readonly postJson: (
    url: string,
    value: unknown,
    options?: Omit<HttpRequest, "method" | "url" | "body">,
  ) => Effect.Effect<HttpResponse, HttpError>
}

export const DEFAULT_TIMEOUT = Duration.seconds(30)
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

/**
 * What a layer provides before the implementation is loaded: every call waits for `load` (once per layer,
 * `Effect.cached`) and then goes to what it produced.
 */
const onFirstUse = (load: Effect.Effect<HttpShape>): HttpShape => {
  const request = (input: HttpRequest) => Effect.flatMap(load, (http) => http.request(input))
  return {
    request,
    get: (url, options) => request({ ...options, method: "GET", url }),
    postForm: (url, fields, options) => request({ ...options, method: "POST", url, body: { _tag: "Form", fields } }),
    postJson: (url, value, options) => request({ ...options, method: "POST", url, body: { _tag: "Json", value } }),
  }
}

export class Http extends Context.Service<Http, HttpShape>()("@cortexkit/openai-auth-core/Http") {
  /**
   * Built on `FetchHttpClient` (the global `fetch`). `effect/http` is loaded with the first call, not with the
   * layer: a plugin's request path, which builds this layer for the token and usage endpoints, may never call
   * either (docs/performance.md, start memory).
   */
  static readonly layer: Layer.Layer<Http> = Layer.effect(
    Http,
    Effect.map(
      Effect.cached(Effect.promise(() => import("./internal/http-fetch.ts")).pipe(Effect.flatMap((m) => m.fetchHttp))),
      (load) => Http.of(onFirstUse(load)),
    ),
  )
}
