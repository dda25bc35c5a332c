/**
 * The `effect/http` side of `Http` (Http.ts): a buffered, capped request over `FetchHttpClient`. Loaded with
 * `import()` on the first request through `Http.layer`, so a process that never calls the token, usage or
 * device endpoint (a logged-in plugin serving requests) never loads `effect/http` (docs/performance.md, start).
 */
import { Duration, Effect, Stream } from "effect"
import {
  FetchHttpClient,
  HttpClient,
  type HttpClientError,
  HttpClientRequest,
  type HttpClientResponse,
} from "effect/http"
import {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_TIMEOUT,
  type HttpBody,
  HttpError,
  type HttpRequest,
  type HttpResponse,
  type HttpShape,
} from "../Http.ts"

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

/** `make` over the global `fetch` */
export const fetchHttp: Effect.Effect<HttpShape> = Effect.gen(function* () {
  return make(yield* HttpClient.HttpClient)
}).pipe(Effect.provide(FetchHttpClient.layer))
