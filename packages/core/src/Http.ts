/**
 * The project's only door to `effect/http`. The module is `@stability unstable`, so every other file speaks
 * this small, buffered request/response shape instead, and an upstream API change is fixed here once.
 */
import { Context, Duration, Effect, Layer, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest } from "effect/http"

export type HttpBody =
  | { readonly _tag: "Form"; readonly fields: Readonly<Record<string, string>> }
  | { readonly _tag: "Json"; readonly value: unknown }
  | { readonly _tag: "Text"; readonly text: string; readonly contentType: string }

export interface HttpRequest {
  readonly method: "GET" | "POST"
  readonly url: string
  readonly headers?: Readonly<Record<string, string>>
  readonly body?: HttpBody
  /** Through the Clock, so a TestClock can trigger it. Default 30 s. */
  readonly timeout?: Duration.Input
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

const DEFAULT_TIMEOUT = Duration.seconds(30)

const withBody = (req: HttpClientRequest.HttpClientRequest, body: HttpBody | undefined) => {
  if (body === undefined) return req
  switch (body._tag) {
    case "Form":
      return HttpClientRequest.bodyUrlParams(req, body.fields)
    case "Json":
      return HttpClientRequest.bodyJsonUnsafe(req, body.value)
    case "Text":
      return HttpClientRequest.bodyText(req, body.text, body.contentType)
  }
}

const describe = (cause: unknown): string => {
  if (typeof cause === "object" && cause !== null) {
    const inner = (cause as { cause?: unknown }).cause
    if (inner instanceof Error) return inner.message
    const message = (cause as { message?: unknown }).message
    if (typeof message === "string" && message !== "") return message
  }
  return String(cause)
}

export const make = (client: HttpClient.HttpClient): HttpShape => {
  const request = (input: HttpRequest): Effect.Effect<HttpResponse, HttpError> => {
    const base = input.method === "GET" ? HttpClientRequest.get(input.url) : HttpClientRequest.post(input.url)
    const req = withBody(HttpClientRequest.setHeaders(base, input.headers ?? {}), input.body)
    const fail = (message: string, timedOut: boolean, cause?: unknown) =>
      new HttpError({ method: input.method, url: input.url, message, timedOut, cause })
    return client.execute(req).pipe(
      Effect.flatMap((response) =>
        Effect.map(response.text, (text) => ({ status: response.status, headers: { ...response.headers }, text })),
      ),
      Effect.mapError((cause) => fail(describe(cause), false, cause)),
      Effect.timeoutOrElse({
        duration: input.timeout ?? DEFAULT_TIMEOUT,
        orElse: () =>
          Effect.fail(fail(`timed out after ${Duration.toMillis(input.timeout ?? DEFAULT_TIMEOUT)} ms`, true)),
      }),
    )
  }
  return {
    request,
    get: (url, options) => request({ ...options, method: "GET", url }),
    postForm: (url, fields, options) => request({ ...options, method: "POST", url, body: { _tag: "Form", fields } }),
    postJson: (url, value, options) => request({ ...options, method: "POST", url, body: { _tag: "Json", value } }),
  }
}

export class Http extends Context.Service<Http, HttpShape>()("@cortexkit/openai-auth-core/Http") {
  /** Built on `FetchHttpClient` (the global `fetch`). */
  static readonly layer: Layer.Layer<Http> = Layer.effect(
    Http,
    Effect.gen(function* () {
      return Http.of(make(yield* HttpClient.HttpClient))
    }),
  ).pipe(Layer.provide(FetchHttpClient.layer))
}
