/**
 * HTTP/SSE transport: one POST through the runtime `fetch`. The answer's body stays a raw `ReadableStream`
 * with a single JS stage on it (the commit point's, with the SSE observer called inline) because an Effect
 * HTTP client, or a stage per concern, would add work per chunk on the hottest path of the plugin.
 */
import { classifyHttp } from "@cortexkit/openai-auth-core/CodexError"
import { type QuotaSnapshot, quotaFromHeaders } from "@cortexkit/openai-auth-core/Quota"
import { SseBodyObserver } from "@cortexkit/openai-auth-core/SseObserver"
import type { StreamEventListener } from "@cortexkit/openai-auth-core/StreamEvent"
import { Effect, Layer } from "effect"
import { CommitPoint } from "./CommitPoint.ts"
import {
  ConnectFailure,
  PreOutputFailure,
  Transport,
  TransportAborted,
  type TransportError,
  type TransportRequest,
  type TransportResponse,
  type TransportShape,
  TransportTimeout,
} from "./Transport.ts"

export interface HttpTransportOptions {
  /** from the start of the request to the first body byte, connect included (default 60 s) */
  readonly firstByteTimeoutMs?: number
  /** longest silence between chunks, before and after the commit (default 300 s) */
  readonly idleTimeoutMs?: number
  /** how much of an error body is read for classification (default 64 KiB) */
  readonly maxErrorBodyBytes?: number
  readonly fetch?: typeof fetch
  /** epoch ms, for quota snapshots (the layers pass the Effect `Clock`) */
  readonly now?: () => number
}

export interface ResolvedHttpOptions {
  readonly firstByteTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly maxErrorBodyBytes: number
  readonly fetch: typeof fetch
  readonly now: () => number
}

export const resolveHttpOptions = (options: HttpTransportOptions = {}): ResolvedHttpOptions => ({
  firstByteTimeoutMs: options.firstByteTimeoutMs ?? 60_000,
  idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
  maxErrorBodyBytes: options.maxErrorBodyBytes ?? 64 * 1024,
  fetch: options.fetch ?? globalThis.fetch,
  now: options.now ?? Date.now,
})

const decoder = new TextDecoder()

const readBounded = async (body: ReadableStream<Uint8Array> | null, max: number): Promise<string> => {
  if (body === null) return ""
  const reader = body.getReader()
  const parts: Array<Uint8Array> = []
  let size = 0
  while (size < max) {
    const { done, value } = await reader.read()
    if (done) break
    parts.push(value)
    size += value.length
  }
  if (size >= max) reader.cancel().catch(() => {})
  const all = new Uint8Array(Math.min(size, max))
  let offset = 0
  for (const part of parts) {
    const take = Math.min(part.length, all.length - offset)
    all.set(take === part.length ? part : part.subarray(0, take), offset)
    offset += take
  }
  return decoder.decode(all)
}

const toRecord = (headers: Headers): Record<string, string> => {
  const out: Record<string, string> = {}
  headers.forEach((value, key) => {
    out[key] = value
  })
  return out
}

/**
 * Sends one request. `cancel` (the Effect's interruption signal) only counts until the commit; the
 * request's own `signal` counts until the body ends.
 */
export const sendHttp = async (
  request: TransportRequest,
  onEvent: StreamEventListener,
  options: ResolvedHttpOptions,
  cancel?: AbortSignal,
): Promise<TransportResponse> => {
  const startedAt = performance.now()
  if (request.signal?.aborted || cancel?.aborted) throw new TransportAborted()
  const controller = new AbortController()
  const abort = () => controller.abort()
  request.signal?.addEventListener("abort", abort, { once: true })
  cancel?.addEventListener("abort", abort, { once: true })
  let timedOut: TransportTimeout | undefined
  // fetch cannot tell "never connected" from "connected, then nothing": both are a stall before the first byte
  const timer = setTimeout(() => {
    timedOut = new TransportTimeout({ phase: "first-byte", afterMs: options.firstByteTimeoutMs })
    controller.abort()
  }, options.firstByteTimeoutMs)
  const failed = (error: unknown): TransportError => {
    clearTimeout(timer)
    request.signal?.removeEventListener("abort", abort)
    if (timedOut !== undefined) return timedOut
    if (controller.signal.aborted) return new TransportAborted()
    if (error instanceof PreOutputFailure) return error
    return new ConnectFailure({ message: error instanceof Error ? error.message : String(error), cause: error })
  }
  try {
    let response: Response
    try {
      response = await options.fetch(request.url, {
        method: "POST",
        headers: request.headers as Record<string, string>,
        body: request.body,
        signal: controller.signal,
      })
    } catch (error) {
      throw failed(error)
    }
    const headers = toRecord(response.headers)
    const quota: QuotaSnapshot | undefined = quotaFromHeaders(headers, options.now())
    if (quota !== undefined) onEvent({ _tag: "Quota", snapshot: quota })
    if (response.status >= 400) {
      let text: string
      try {
        text = await readBounded(response.body, options.maxErrorBodyBytes)
      } catch (error) {
        throw failed(error)
      }
      clearTimeout(timer)
      const failure = classifyHttp(response.status, text, headers)
      onEvent({ _tag: "Terminal", outcome: "error", failure })
      throw new PreOutputFailure({
        failure,
        status: response.status,
        headers,
        ...(quota === undefined ? {} : { quota }),
      })
    }
    clearTimeout(timer)
    const commit = new CommitPoint(onEvent, quota)
    // the observer rides inside the commit point's one stage instead of a TransformStream of its own
    const source = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() })
    const observer = new SseBodyObserver(commit.listener, { now: options.now })
    return await commit.run(
      source,
      {
        transport: "http",
        status: response.status,
        headers,
        signal: controller.signal,
        firstByteTimeoutMs: options.firstByteTimeoutMs,
        startedAt,
        idleTimeoutMs: options.idleTimeoutMs,
      },
      observer,
    )
  } finally {
    // after the commit only the request's own signal may cancel the body
    cancel?.removeEventListener("abort", abort)
  }
}

const isTransportError = (error: unknown): error is TransportError =>
  error instanceof PreOutputFailure ||
  error instanceof ConnectFailure ||
  error instanceof TransportTimeout ||
  error instanceof TransportAborted

export const toTransportError = (error: unknown): TransportError =>
  isTransportError(error)
    ? error
    : new ConnectFailure({ message: error instanceof Error ? error.message : String(error), cause: error })

export const makeHttpTransport = (options: HttpTransportOptions = {}): TransportShape => {
  const resolved = resolveHttpOptions(options)
  return Transport.of({
    kind: "http",
    // untraced and generator-free: this runs once per request
    send: (request: TransportRequest, onEvent: StreamEventListener) =>
      Effect.tryPromise({
        try: (signal) => sendHttp(request, onEvent, resolved, signal),
        catch: toTransportError,
      }),
  })
}

const layerWith = (options: HttpTransportOptions = {}): Layer.Layer<Transport> =>
  Layer.effect(
    Transport,
    Effect.clockWith((clock) =>
      Effect.succeed(makeHttpTransport({ now: () => clock.currentTimeMillisUnsafe(), ...options })),
    ),
  )

export const HttpTransport = {
  make: makeHttpTransport,
  layerWith,
  layer: layerWith(),
} as const
