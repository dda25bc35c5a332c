/**
 * The commit point shared by every transport (see `Transport.ts`): read SSE bytes from a source while the
 * observer reports what they mean, hold everything back until the first output (or a clean end), then hand
 * out a body that replays the held chunks and passes the rest through untouched. A failure before output
 * becomes a `PreOutputFailure` and nothing reaches the caller.
 *
 * Every attempt reports exactly one `Terminal` event, except an abort and an error the transport raises
 * itself with a `_tag` (its retry/fallback signals), which are rethrown before commit without one.
 *
 * After the commit the body is ONE pull-based stage over the source's reader: a read hands the very chunk
 * the source gave, and an inline observer (the HTTP transport's SSE observer) only files a reference to it.
 * The end-of-stream work of that observer (parsing the terminal event, which repeats the whole answer) runs
 * in the microtask right after the body closes, so the reader's last `read()` does not wait for it.
 */
import { type CodexFailure, Transient } from "@cortexkit/openai-auth-core/CodexError"
import type { QuotaSnapshot } from "@cortexkit/openai-auth-core/Quota"
import type { StreamEvent, StreamEventListener } from "@cortexkit/openai-auth-core/StreamEvent"
import {
  PreOutputFailure,
  TransportAborted,
  type TransportKind,
  type TransportResponse,
  TransportTimeout,
} from "./Transport.ts"

export interface CommitOptions {
  readonly transport: TransportKind
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly signal?: AbortSignal
  /** budget for the first chunk, counted from `startedAt` (performance.now() ms) */
  readonly firstByteTimeoutMs: number
  readonly startedAt?: number
  /** longest silence while a read is pending, before and after the commit */
  readonly idleTimeoutMs: number
}

/**
 * Watches the bytes inline, called by the commit point as it moves them (`SseBodyObserver` fits): `push`
 * each chunk once it is held or handed out, `end(complete)` once when the source closes (true), errors or is
 * cancelled (false). Sources that report on their own (WebSocket frames) pass none.
 */
export interface ChunkObserver {
  push(chunk: Uint8Array): void
  end(complete: boolean): void
}

const isTagged = (error: unknown): boolean =>
  typeof error === "object" && error !== null && typeof (error as { _tag?: unknown })._tag === "string"

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

export class CommitPoint {
  private output = false
  private cleanEnd = false
  private failure: CodexFailure | undefined
  private terminalSeen = false
  private quota: QuotaSnapshot | undefined

  constructor(
    private readonly onEvent: StreamEventListener,
    quota?: QuotaSnapshot,
  ) {
    this.quota = quota
  }

  /** Wire this into the observer (`observeSse` / `StreamObserver`); it forwards every event to the caller. */
  readonly listener: StreamEventListener = (event: StreamEvent) => {
    switch (event._tag) {
      case "FirstOutput":
        this.output = true
        break
      case "Quota":
        this.quota = event.snapshot
        break
      case "Terminal":
        this.terminalSeen = true
        if (event.failure !== undefined) this.failure ??= event.failure
        else this.cleanEnd = true
        break
    }
    this.onEvent(event)
  }

  /** whether the first output event was seen (it may still be held back) */
  get sawOutput(): boolean {
    return this.output
  }

  /** Reports `Terminal: dropped` unless the stream already reported its end. */
  dropped(message: string): CodexFailure {
    const failure = new Transient({ message })
    if (!this.terminalSeen) this.listener({ _tag: "Terminal", outcome: "dropped", failure })
    return failure
  }

  private preOutput(failure: CodexFailure, options: CommitOptions): PreOutputFailure {
    return new PreOutputFailure({
      failure,
      status: options.status,
      headers: { ...options.headers },
      ...(this.quota === undefined ? {} : { quota: this.quota }),
    })
  }

  run(
    source: ReadableStream<Uint8Array>,
    options: CommitOptions,
    observer?: ChunkObserver,
  ): Promise<TransportResponse> {
    const reader = source.getReader()
    const held: Array<Uint8Array> = []
    const startedAt = options.startedAt ?? performance.now()
    let gotFirst = false
    let committed = false
    let finished = false
    let timedOut: TransportTimeout | undefined
    let aborted = false
    /** performance.now() when the pending read started; undefined while the consumer is not reading */
    let pendingSince: number | undefined = startedAt
    let timer: ReturnType<typeof setTimeout> | undefined

    const finish = () => {
      finished = true
      if (timer !== undefined) clearTimeout(timer)
      options.signal?.removeEventListener("abort", onAbort)
    }
    const stop = () => {
      finish()
      observer?.end(false)
      reader.cancel().catch(() => {})
    }
    const arm = (ms: number) => {
      timer = setTimeout(check, Math.max(1, ms))
    }
    // one timer re-armed on expiry instead of a setTimeout per chunk
    const check = () => {
      timer = undefined
      if (finished) return
      const limit = gotFirst ? options.idleTimeoutMs : options.firstByteTimeoutMs
      if (pendingSince === undefined) return arm(options.idleTimeoutMs)
      const elapsed = performance.now() - pendingSince
      if (elapsed < limit) return arm(limit - elapsed)
      timedOut = new TransportTimeout({ phase: gotFirst ? "idle" : "first-byte", afterMs: limit })
      stop()
    }
    const onAbort = () => {
      aborted = true
      stop()
    }
    if (options.signal?.aborted) {
      stop()
      return Promise.reject(new TransportAborted())
    }
    options.signal?.addEventListener("abort", onAbort, { once: true })
    arm(options.firstByteTimeoutMs - (performance.now() - startedAt))

    const body = (): ReadableStream<Uint8Array> => {
      committed = true
      return new ReadableStream<Uint8Array>(
        {
          pull: async (controller) => {
            if (held.length > 0) {
              // everything held at once: one pull instead of one per chunk
              for (const chunk of held) controller.enqueue(chunk)
              held.length = 0
              return
            }
            if (finished && timedOut === undefined && !aborted) return controller.close()
            pendingSince = performance.now()
            let result: Awaited<ReturnType<typeof reader.read>>
            try {
              result = await reader.read()
            } catch (error) {
              finish()
              observer?.end(false)
              this.dropped(messageOf(error))
              return controller.error(error)
            }
            pendingSince = undefined
            if (timedOut !== undefined) {
              this.dropped(`stream stalled for ${timedOut.afterMs} ms`)
              return controller.error(timedOut)
            }
            if (aborted) return controller.error(new TransportAborted())
            if (result.done) {
              finish()
              controller.close()
              // the terminal event is reported right after the close, before any timer or I/O callback
              if (observer !== undefined) queueMicrotask(() => observer.end(true))
              return
            }
            controller.enqueue(result.value)
            observer?.push(result.value)
          },
          cancel: (reason) => {
            finish()
            observer?.end(false)
            return reader.cancel(reason)
          },
        },
        { highWaterMark: 0 },
      )
    }

    const response = (): TransportResponse => ({
      transport: options.transport,
      status: options.status,
      headers: options.headers,
      body: body(),
    })

    return (async (): Promise<TransportResponse> => {
      for (;;) {
        let result: Awaited<ReturnType<typeof reader.read>>
        try {
          result = await reader.read()
        } catch (error) {
          finish()
          observer?.end(false)
          if (aborted) throw new TransportAborted()
          if (timedOut !== undefined) throw timedOut
          if (isTagged(error)) throw error
          throw this.preOutput(this.failure ?? this.dropped(messageOf(error)), options)
        }
        if (aborted) throw new TransportAborted()
        if (timedOut !== undefined) {
          this.dropped(`no answer within ${timedOut.afterMs} ms`)
          throw timedOut
        }
        if (result.done) observer?.end(true)
        else observer?.push(result.value)
        if (this.failure !== undefined && !this.output) {
          stop()
          throw this.preOutput(this.failure, options)
        }
        if (result.done) {
          finish()
          if (!this.terminalSeen) throw this.preOutput(this.dropped("stream ended before any event"), options)
          return response()
        }
        if (!gotFirst) {
          gotFirst = true
          // the first-byte deadline is over: from now on the idle limit applies
          if (timer !== undefined) clearTimeout(timer)
          arm(options.idleTimeoutMs)
        }
        pendingSince = performance.now()
        held.push(result.value)
        if (this.output || this.cleanEnd) {
          pendingSince = undefined
          return response()
        }
      }
    })().finally(() => {
      if (!committed) finish()
    })
  }
}
