/**
 * HTTP/SSE transport: one POST through the runtime `fetch`. The request up to the commit is an Effect (the
 * fetch and an error body interruptible, their deadline an alarm on the `Clock`, failures typed);
 * the answer's body stays a raw `ReadableStream` with a single JS stage on it (the commit point's, with the SSE
 * observer called inline) because an Effect HTTP client, or a stage per concern, would add work per chunk on
 * the hottest path of the plugin.
 */
import { classifyHttp } from "@cortexkit/openai-auth-core/CodexError"
import { type QuotaSnapshot, quotaFromHeaders } from "@cortexkit/openai-auth-core/Quota"
import { SseBodyObserver } from "@cortexkit/openai-auth-core/SseObserver"
import type { StreamEventListener } from "@cortexkit/openai-auth-core/StreamEvent"
import { Effect } from "effect"
import { type Alarms, currentAlarms } from "./Alarms.ts"
import { CommitPoint } from "./CommitPoint.ts"
import {
  ConnectFailure,
  PreOutputFailure,
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
}

export interface ResolvedHttpOptions {
  readonly firstByteTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly maxErrorBodyBytes: number
  readonly fetch: typeof fetch
  /** the Effect `Clock` the transport was made on: deadlines and quota timestamps */
  readonly alarms: Alarms
}

/** The options with their defaults, on the current fiber's `Clock`. */
export const resolveHttpOptions = (options: HttpTransportOptions = {}): Effect.Effect<ResolvedHttpOptions> =>
  Effect.map(currentAlarms, (alarms) => ({
    firstByteTimeoutMs: options.firstByteTimeoutMs ?? 60_000,
    idleTimeoutMs: options.idleTimeoutMs ?? 300_000,
    maxErrorBodyBytes: options.maxErrorBodyBytes ?? 64 * 1024,
    fetch: options.fetch ?? globalThis.fetch,
    alarms,
  }))

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

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

/** a rejected fetch or body read: the caller's abort when its signal fired, else a connection failure */
const rejected = (request: TransportRequest, error: unknown): ConnectFailure | TransportAborted =>
  request.signal?.aborted ? new TransportAborted() : new ConnectFailure({ message: messageOf(error), cause: error })

/**
 * Runs a promise-returning step of one request within the rest of the first-byte budget counted from
 * `startedAt`, and hands on exactly one outcome: the step's value, or its failure (a rejection is the caller's
 * abort when its signal fired, else `ConnectFailure`), or `TransportTimeout` when the deadline (an alarm on the
 * transport's Clock, so no race fiber per request) comes first, which also aborts `controller` and so ends the
 * fetch and its body. The returned `stop` drops whatever has not been handed on yet.
 */
const withinBudget = <A>(
  request: TransportRequest,
  controller: AbortController,
  options: ResolvedHttpOptions,
  startedAt: number,
  run: () => Promise<A>,
  onValue: (value: A) => void,
  onFailure: (failure: ConnectFailure | TransportAborted | TransportTimeout) => void,
): (() => void) => {
  const budget = options.firstByteTimeoutMs
  let settled = false
  const cancel = options.alarms.after(budget - (options.alarms.now() - startedAt), () => {
    if (settled) return
    settled = true
    onFailure(new TransportTimeout({ phase: "first-byte", afterMs: budget }))
    controller.abort()
  })
  run().then(
    (value) => {
      cancel()
      if (settled) return
      settled = true
      onValue(value)
    },
    (error: unknown) => {
      cancel()
      if (settled) return
      settled = true
      onFailure(rejected(request, error))
    },
  )
  return () => {
    settled = true
    cancel()
  }
}

/** `withinBudget` as an Effect; interrupting it aborts `controller`. */
const step = <A>(
  request: TransportRequest,
  controller: AbortController,
  options: ResolvedHttpOptions,
  startedAt: number,
  run: () => Promise<A>,
): Effect.Effect<A, ConnectFailure | TransportAborted | TransportTimeout> =>
  Effect.callback((resume) => {
    const stop = withinBudget(
      request,
      controller,
      options,
      startedAt,
      run,
      (value) => resume(Effect.succeed(value)),
      (failure) => resume(Effect.fail(failure)),
    )
    return Effect.sync(() => {
      stop()
      controller.abort()
    })
  })

/**
 * Sends one request. Interrupting the Effect counts until the commit; the request's own `signal` counts until
 * the body ends.
 *
 * One `Effect.callback` from the call to the commit: the fetch within the first-byte budget (an alarm, as in
 * `step`), then the commit point started in the fetch's own callback (`CommitPoint.start`), so the request's
 * fiber suspends once per request instead of once for the headers and again for the commit. An error status
 * resumes with `refused`, an Effect of its own.
 */
export const sendHttp = (
  request: TransportRequest,
  onEvent: StreamEventListener,
  options: ResolvedHttpOptions,
): Effect.Effect<TransportResponse, TransportError> =>
  Effect.callback((resume) => {
    if (request.signal?.aborted) return resume(Effect.fail(new TransportAborted()))
    const startedAt = options.alarms.now()
    const controller = new AbortController()
    request.signal?.addEventListener("abort", () => controller.abort(), { once: true })
    let attempt: { readonly interrupt: () => void } | undefined
    // fetch cannot tell "never connected" from "connected, then nothing": both are a stall before the first byte
    const stop = withinBudget(
      request,
      controller,
      options,
      startedAt,
      () =>
        options.fetch(request.url, {
          method: "POST",
          headers: request.headers as Record<string, string>,
          body: request.body,
          signal: controller.signal,
        }),
      (response) => {
        const headers = toRecord(response.headers)
        const quota: QuotaSnapshot | undefined = quotaFromHeaders(headers, options.alarms.now())
        if (quota !== undefined) onEvent({ _tag: "Quota", snapshot: quota })
        if (response.status >= 400)
          return resume(refused(request, controller, response, headers, quota, onEvent, options, startedAt))
        const commit = new CommitPoint(onEvent, quota)
        // the observer rides inside the commit point's one stage instead of a TransformStream of its own
        const source = response.body ?? new ReadableStream<Uint8Array>({ start: (c) => c.close() })
        const observer = new SseBodyObserver(commit.listener, { now: options.alarms.now })
        const started = commit.start(
          source,
          {
            transport: "http",
            status: response.status,
            headers,
            signal: request.signal,
            alarms: options.alarms,
            firstByteTimeoutMs: options.firstByteTimeoutMs,
            startedAt,
            idleTimeoutMs: options.idleTimeoutMs,
          },
          observer,
        )
        attempt = started
        started.result.then(
          (answer) => resume(Effect.succeed(answer)),
          (failure: TransportError) => resume(Effect.fail(failure)),
        )
      },
      (failure) => resume(Effect.fail(failure)),
    )
    return Effect.sync(() => {
      if (attempt !== undefined) return attempt.interrupt()
      stop()
      controller.abort()
    })
  })

/** An error status: its (bounded) body is read within the first-byte budget and classified. */
const refused = (
  request: TransportRequest,
  controller: AbortController,
  response: Response,
  headers: Record<string, string>,
  quota: QuotaSnapshot | undefined,
  onEvent: StreamEventListener,
  options: ResolvedHttpOptions,
  startedAt: number,
): Effect.Effect<never, TransportError> =>
  step(request, controller, options, startedAt, () => readBounded(response.body, options.maxErrorBodyBytes)).pipe(
    Effect.flatMap((text) => {
      const failure = classifyHttp(response.status, text, headers)
      onEvent({ _tag: "Terminal", outcome: "error", failure })
      return Effect.fail(
        new PreOutputFailure({
          failure,
          status: response.status,
          headers,
          ...(quota === undefined ? {} : { quota }),
        }),
      )
    }),
  )

/** The HTTP transport on the current fiber's `Clock`. */
export const makeHttpTransport = (options: HttpTransportOptions = {}): Effect.Effect<TransportShape> =>
  Effect.map(resolveHttpOptions(options), (resolved) => ({
    kind: "http",
    // generator-free: this runs once per request
    send: (request, onEvent) => sendHttp(request, onEvent, resolved),
  }))
