/**
 * The commit point shared by every transport (see `Transport.ts`): read SSE bytes from a source while the
 * observer reports what they mean, hold everything back until the first output (or a clean end), then hand
 * out a body that replays the held chunks and passes the rest through untouched. A failure before output
 * becomes a `PreOutputFailure` and nothing reaches the caller.
 *
 * Every attempt reports exactly one `Terminal` event, except an abort and a failure the transport signals
 * itself through the source (its retry/fallback signals, typed), which fail the attempt before commit
 * without one.
 *
 * `run` is an Effect: interrupting it before the commit cancels the source. Its deadlines (the first chunk
 * within `firstByteTimeoutMs` of `startedAt`, then no read pending longer than `idleTimeoutMs`, before and after
 * the commit) are one alarm on the Effect `Clock`, re-armed when it fires early instead of a timer per chunk.
 *
 * After the commit the body is ONE pull-based stage over the source's reader: a read hands the very chunk
 * the source gave, and an inline observer (the HTTP transport's SSE observer) only files a reference to it.
 * The end-of-stream work of that observer (parsing the terminal event, which repeats the whole answer) runs
 * in the microtask right after the body closes, so the reader's last `read()` does not wait for it.
 */
import { type CodexFailure, Transient } from "@cortexkit/openai-auth-core/CodexError"
import type { QuotaSnapshot } from "@cortexkit/openai-auth-core/Quota"
import type { StreamEvent, StreamEventListener } from "@cortexkit/openai-auth-core/StreamEvent"
import { Effect } from "effect"
import type { Alarms } from "./Alarms.ts"
import {
  PreOutputFailure,
  TransportAborted,
  type TransportKind,
  type TransportResponse,
  TransportTimeout,
} from "./Transport.ts"

export interface CommitOptions<E = never> {
  readonly transport: TransportKind
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  /** the caller's abort: before the commit the attempt fails with `TransportAborted`, after it the body errors */
  readonly signal?: AbortSignal | undefined
  readonly alarms: Alarms
  /** budget for the first chunk, counted from `startedAt` (`alarms.now()` ms; default: now) */
  readonly firstByteTimeoutMs: number
  readonly startedAt?: number
  /** longest silence while a read is pending, before and after the commit */
  readonly idleTimeoutMs: number
  /**
   * The failure the source was ended with on purpose, if any (the WebSocket transport's retry and fallback
   * signals): before the commit the attempt fails with it as it is.
   */
  readonly signalled?: () => E | undefined
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

  /** Wire this into the observer (`SseBodyObserver` / `StreamObserver`, or frame by frame); it forwards every event to the caller. */
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

  private preOutput(failure: CodexFailure, options: CommitOptions<unknown>): PreOutputFailure {
    return new PreOutputFailure({
      failure,
      status: options.status,
      headers: { ...options.headers },
      ...(this.quota === undefined ? {} : { quota: this.quota }),
    })
  }

  run<E = never>(
    source: ReadableStream<Uint8Array>,
    options: CommitOptions<E>,
    observer?: ChunkObserver,
  ): Effect.Effect<TransportResponse, PreOutputFailure | TransportTimeout | TransportAborted | E> {
    return Effect.callback((resume) => {
      const attempt = this.start(source, options, observer)
      attempt.result.then(
        (response) => resume(Effect.succeed(response)),
        (failure: PreOutputFailure | TransportTimeout | TransportAborted | E) => resume(Effect.fail(failure)),
      )
      return Effect.sync(attempt.interrupt)
    })
  }

  /**
   * `run` for a transport that is already inside an `Effect.callback` of its own (the HTTP transport's fetch):
   * the attempt starts now; `result` rejects with the same typed failures `run` fails with, and `interrupt`
   * is what interrupting `run` does. One suspension of the request's fiber instead of two.
   */
  start<E>(
    source: ReadableStream<Uint8Array>,
    options: CommitOptions<E>,
    observer: ChunkObserver | undefined,
  ): { readonly result: Promise<TransportResponse>; readonly interrupt: () => void } {
    const alarms = options.alarms
    const reader = source.getReader()
    const held: Array<Uint8Array> = []
    const startedAt = options.startedAt ?? alarms.now()
    let gotFirst = false
    let committed = false
    let finished = false
    let timedOut: TransportTimeout | undefined
    let aborted = false
    /** Clock ms when the pending read started; undefined while the consumer is not reading */
    let pendingSince: number | undefined = startedAt
    let cancelAlarm: (() => void) | undefined
    /** when the armed alarm fires (Clock ms) */
    let alarmAt = 0

    const finish = () => {
      finished = true
      cancelAlarm?.()
      cancelAlarm = undefined
      options.signal?.removeEventListener("abort", onAbort)
    }
    const stop = () => {
      finish()
      observer?.end(false)
      reader.cancel().catch(() => {})
    }
    const arm = (ms: number) => {
      alarmAt = alarms.now() + ms
      cancelAlarm = alarms.after(ms, check)
    }
    // one alarm re-armed when it fires early, instead of a timer per chunk
    const check = () => {
      cancelAlarm = undefined
      if (finished) return
      const limit = gotFirst ? options.idleTimeoutMs : options.firstByteTimeoutMs
      if (pendingSince === undefined) return arm(options.idleTimeoutMs)
      const elapsed = alarms.now() - pendingSince
      if (elapsed < limit) return arm(limit - elapsed)
      timedOut = new TransportTimeout({ phase: gotFirst ? "idle" : "first-byte", afterMs: limit })
      stop()
    }
    const onAbort = () => {
      aborted = true
      stop()
    }
    // interrupted before the commit: nothing more is reported, like an abort
    const interrupt = () => {
      if (committed || finished) return
      aborted = true
      stop()
    }
    if (options.signal?.aborted) {
      stop()
      return { result: Promise.reject(new TransportAborted()), interrupt }
    }
    options.signal?.addEventListener("abort", onAbort, { once: true })
    arm(options.firstByteTimeoutMs - (alarms.now() - startedAt))

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
            pendingSince = alarms.now()
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

    const result = (async (): Promise<TransportResponse> => {
      for (;;) {
        let result: Awaited<ReturnType<typeof reader.read>>
        try {
          result = await reader.read()
        } catch (error) {
          finish()
          observer?.end(false)
          if (aborted) throw new TransportAborted()
          if (timedOut !== undefined) throw timedOut
          const signalled = options.signalled?.()
          if (signalled !== undefined) throw signalled
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
        const now = alarms.now()
        if (!gotFirst) {
          // the first-byte deadline is over: from now on the idle limit applies; an alarm armed for later than
          // that is moved, one armed earlier re-arms itself for the rest when it fires
          gotFirst = true
          if (now + options.idleTimeoutMs < alarmAt) {
            cancelAlarm?.()
            arm(options.idleTimeoutMs)
          }
        }
        pendingSince = now
        held.push(result.value)
        if (this.output || this.cleanEnd) {
          pendingSince = undefined
          return response()
        }
      }
    })().finally(() => {
      if (!committed) finish()
    })
    return { result, interrupt }
  }
}
