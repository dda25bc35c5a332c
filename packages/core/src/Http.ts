/**
 * The project's only door to `effect/http`. The module is `@stability unstable`, so every other file speaks
 * this small, buffered request/response shape instead, and an upstream API change is fixed here once.
 *
 * Every answer is read with a cap (1 MiB unless the request says otherwise): the token, usage and device
 * endpoints answer a few KB, and a proxy or a broken server that streams more is cut off and reported instead
 * of filling the memory of the process that hosts us. A timeout says where it happened: no first byte (the
 * server accepted and stalled, or never answered), or a body that stopped coming.
 */
import { Context, Duration, Effect, Layer, Schema, Stream } from "effect"
import {
  FetchHttpClient,
  HttpClient,
  type HttpClientError,
  HttpClientRequest,
  type HttpClientResponse,
} from "effect/http"

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

const DEFAULT_TIMEOUT = Duration.seconds(30)
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024

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

const decoder = new TextDecoder()

const concat = (parts: ReadonlyArray<Uint8Array>, size: number) => {
  const all = new Uint8Array(size)
  let offset = 0
  for (const part of parts) {
    all.set(part, offset)
    offset += part.length
  }
  return all
}

const sizeText = (bytes: number) =>
  bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${bytes} bytes`

export const make = (client: HttpClient.HttpClient): HttpShape => {
  const request = (input: HttpRequest): Effect.Effect<HttpResponse, HttpError> => {
    const base = input.method === "GET" ? HttpClientRequest.get(input.url) : HttpClientRequest.post(input.url)
    const req = withBody(HttpClientRequest.setHeaders(base, input.headers ?? {}), input.body)
    const timeout = input.timeout ?? DEFAULT_TIMEOUT
    const max = input.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES
    const fail = (message: string, timedOut: boolean, cause?: unknown) =>
      new HttpError({ method: input.method, url: input.url, message, timedOut, cause })
    // what the timeout message reports: whether the head arrived, and how much of the body
    const progress = { answered: false, bytes: 0 }
    const tooLarge = () => fail(`the answer is larger than ${sizeText(max)}; it was cut off unread`, false)
    const readBody = (response: HttpClientResponse.HttpClientResponse) =>
      response.stream.pipe(
        Stream.runFoldEffect(
          () => ({ parts: [] as Array<Uint8Array>, size: 0 }),
          (acc, chunk) => {
            acc.size += chunk.length
            progress.bytes = acc.size
            if (acc.size > max) return Effect.fail(tooLarge())
            acc.parts.push(chunk)
            return Effect.succeed(acc)
          },
        ),
        Effect.map((acc) => decoder.decode(concat(acc.parts, acc.size))),
        Effect.catchIf(
          (e): e is HttpClientError.HttpClientError =>
            e._tag === "HttpClientError" && e.reason._tag === "EmptyBodyError",
          () => Effect.succeed(""),
        ),
      )
    return client.execute(req).pipe(
      Effect.mapError((cause) => fail(describe(cause), false, cause)),
      Effect.flatMap((response) => {
        progress.answered = true
        return readBody(response).pipe(
          Effect.mapError((e) => (e._tag === "HttpError" ? e : fail(describe(e), false, e))),
          Effect.map((text) => ({ status: response.status, headers: { ...response.headers }, text })),
        )
      }),
      Effect.timeoutOrElse({
        duration: timeout,
        orElse: () => {
          const ms = Duration.toMillis(Duration.fromInputUnsafe(timeout))
          return Effect.fail(
            fail(
              progress.answered
                ? `the answer stalled: ${sizeText(progress.bytes)} of its body in ${ms} ms, then nothing`
                : `no answer within ${ms} ms (stalled before the first byte)`,
              true,
            ),
          )
        },
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
