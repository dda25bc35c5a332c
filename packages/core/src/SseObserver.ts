/**
 * Watches a Codex response stream on the side. The bytes go through untouched and at once (each chunk is
 * enqueued before it is parsed); what the stream says is reported to a listener as `StreamEvent`s.
 *
 * One implementation serves both transports: SSE bodies go through `observeSse`, WebSocket frames (already
 * parsed JSON) through `observeEvent` / `StreamObserver.event`.
 *
 * FirstOutput rule: the first event proving the model has produced something a user sees or a tool runs —
 * a text / reasoning / tool-argument delta, an `output_item.added` for a tool call or for a message that
 * already has content, or an `output_item.done` for an item with content. Items announced empty (a reasoning
 * or message item before its first delta) do not count: until real output exists, a failed attempt can
 * still be retried on another account without the user having seen half an answer, so the signal must not
 * fire early. Server-side tool activity (`web_search_call.*`) is not output either.
 */
import { classifyEvent, Transient } from "./CodexError.ts"
import { TailWindow } from "./internal/sse-tail.ts"
import { quotaFromHeaders, quotaFromRateLimitsFrame } from "./Quota.ts"
import { type SseMessage, SseParser, type SseParserOptions } from "./Sse.ts"
import { type StreamEvent, type StreamEventListener, type TerminalOutcome, Usage } from "./StreamEvent.ts"

export interface ObserverOptions {
  /** epoch ms clock for quota readings and reset hints; default `Date.now` */
  readonly now?: () => number
  readonly maxEventBytes?: number
  /** bytes kept after the first output for the end-of-stream walk (default 32 MiB); older chunks are let go */
  readonly tailBytes?: number
}

const DELTAS = new Set([
  "response.output_text.delta",
  "response.reasoning_summary_text.delta",
  "response.reasoning_text.delta",
  "response.function_call_arguments.delta",
  "response.custom_tool_call_input.delta",
])
const TOOL_CALLS = new Set(["function_call", "custom_tool_call", "local_shell_call"])
const TERMINAL: Record<string, TerminalOutcome> = {
  "response.completed": "completed",
  "response.done": "completed",
  "response.incomplete": "incomplete",
  "response.failed": "failed",
  error: "error",
}

/** every field optional and checked where it is read (`num`): a partial usage object still counts */
interface UsageJson {
  readonly input_tokens?: unknown
  readonly output_tokens?: unknown
  readonly total_tokens?: unknown
  readonly input_tokens_details?: unknown
  readonly output_tokens_details?: unknown
}

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0)
const field = (o: unknown, key: string): unknown =>
  typeof o === "object" && o !== null ? (o as Record<string, unknown>)[key] : undefined

const usageFrom = (raw: unknown): Usage | undefined => {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined
  const u = raw as UsageJson
  const input = num(u.input_tokens)
  const output = num(u.output_tokens)
  return new Usage({
    inputTokens: input,
    cachedTokens: num(field(u.input_tokens_details, "cached_tokens")),
    outputTokens: output,
    reasoningTokens: num(field(u.output_tokens_details, "reasoning_tokens")),
    totalTokens: u.total_tokens === undefined ? input + output : num(u.total_tokens),
  })
}

const hasContent = (item: unknown): boolean => {
  const type = field(item, "type")
  if (typeof type === "string" && TOOL_CALLS.has(type)) return true
  const content = field(item, "content")
  if (Array.isArray(content) && content.length > 0) return true
  const summary = field(item, "summary")
  return Array.isArray(summary) && summary.length > 0
}

/** Per-response state; one per SSE body or WebSocket turn. */
export class StreamObserver {
  private responseId = false
  private firstOutput = false
  private usage = false
  private terminal = false
  private readonly now: () => number

  constructor(
    private readonly listener: StreamEventListener,
    options: { readonly now?: () => number } = {},
  ) {
    this.now = options.now ?? Date.now
  }

  get done(): boolean {
    return this.terminal
  }

  /**
   * The id and the first output have been reported: from here on only terminal events, `error` and
   * `codex.rate_limits` can still produce anything.
   */
  get settled(): boolean {
    return this.responseId && this.firstOutput
  }

  /** Whether the observer still needs the body of an event of this type (cheap pre-filter for SSE). */
  wants(type: string): boolean {
    if (this.terminal) return false
    if (DELTAS.has(type)) return !this.firstOutput
    if (type === "response.output_item.added" || type === "response.output_item.done") return !this.firstOutput
    if (type in TERMINAL || type === "codex.rate_limits") return true
    if (type.startsWith("response.")) return !this.responseId
    return true
  }

  /** One parsed event (an SSE data object or a WebSocket frame). */
  event(json: unknown): void {
    if (this.terminal) return
    const type = field(json, "type")
    if (typeof type !== "string") return
    if (type === "codex.rate_limits") {
      const snapshot = quotaFromRateLimitsFrame(json, this.now())
      if (snapshot !== undefined) this.emit({ _tag: "Quota", snapshot })
      return
    }
    const response = field(json, "response")
    if (!this.responseId) {
      const id = field(response, "id")
      if (typeof id === "string" && id !== "") {
        this.responseId = true
        this.emit({ _tag: "ResponseId", id })
      }
    }
    if (!this.firstOutput && this.isOutput(type, json)) {
      this.firstOutput = true
      this.emit({ _tag: "FirstOutput", eventType: type })
    }
    const outcome = TERMINAL[type]
    if (outcome === undefined) return
    if (outcome === "completed" || outcome === "incomplete") {
      const usage = usageFrom(field(response, "usage"))
      if (usage !== undefined && !this.usage) {
        this.usage = true
        this.emit({ _tag: "Usage", usage })
      }
      this.finish({ _tag: "Terminal", outcome })
      return
    }
    // A wrapped WebSocket error frame echoes the quota headers: worth keeping.
    const headers = field(json, "headers")
    if (outcome === "error" && typeof headers === "object" && headers !== null) {
      const snapshot = quotaFromHeaders(headers as Record<string, string>, this.now())
      if (snapshot !== undefined) this.emit({ _tag: "Quota", snapshot })
    }
    this.finish({ _tag: "Terminal", outcome, failure: classifyEvent(json, { now: this.now() }) })
  }

  /** The stream ended (or broke) without a terminal event: reported as `dropped`, at most once. */
  end(message = "stream closed before response.completed"): void {
    if (this.terminal) return
    this.finish({ _tag: "Terminal", outcome: "dropped", failure: new Transient({ message }) })
  }

  private isOutput(type: string, json: unknown): boolean {
    if (DELTAS.has(type)) return true
    if (type === "response.output_item.added") {
      const item = field(json, "item")
      const itemType = field(item, "type")
      return (typeof itemType === "string" && TOOL_CALLS.has(itemType)) || (itemType === "message" && hasContent(item))
    }
    if (type === "response.output_item.done") return hasContent(field(json, "item"))
    return false
  }

  private finish(event: StreamEvent): void {
    this.terminal = true
    this.emit(event)
  }

  private emit(event: StreamEvent): void {
    try {
      this.listener(event)
    } catch {
      // the listener is someone else's bookkeeping: its failure must not break the user's stream
    }
  }
}

const states = new WeakMap<StreamEventListener, StreamObserver>()

/**
 * The observer logic for one already-parsed event (WebSocket frames). With a `StreamObserver` as state the
 * caller owns the per-response state; the two-argument form keys it by the listener, so use one listener
 * per response.
 */
export function observeEvent(json: unknown, state: StreamObserver): void
export function observeEvent(json: unknown, listener: StreamEventListener): void
export function observeEvent(json: unknown, stateOrListener: StreamObserver | StreamEventListener): void {
  if (stateOrListener instanceof StreamObserver) {
    stateOrListener.event(json)
    return
  }
  let state = states.get(stateOrListener)
  if (state === undefined) {
    state = new StreamObserver(stateOrListener)
    states.set(stateOrListener, state)
  }
  state.event(json)
}

const parseData = (message: SseMessage): unknown => {
  const data = message.data
  if (data === "" || data === "[DONE]") return undefined
  try {
    return JSON.parse(data)
  } catch {
    return undefined
  }
}

/** default bound on the bytes kept for the end-of-stream walk; a `response.completed` repeats the whole answer */
export const DEFAULT_TAIL_BYTES = 32 * 1024 * 1024
/** at most this many events are walked back over at the end (terminal ones, `[DONE]`, comments) */
const TAIL_EVENTS = 16

/**
 * A pass-through `TransformStream` for an SSE response body that reports `StreamEvent`s on the side.
 * Every chunk object is enqueued unchanged before it is looked at, so observing adds no latency.
 *
 * Until the id and first output are seen every line is parsed (the prefix is short, and a failure there
 * must be known at once so the attempt can still be retried). From then on the observer is off the byte
 * path: everything it still has to report is terminal and so comes last, so chunks are only kept by
 * reference (`internal/sse-tail.ts`) and at the end of the stream (close, upstream error or cancel) the
 * last events are found by walking backwards from the end and parsed. `codex.rate_limits` after the first
 * output is not looked for on this path: the HTTP backend does not send it (it arrives as WebSocket frames,
 * which go through `observeEvent`).
 */
export const observeSse = (
  listener: StreamEventListener,
  options: ObserverOptions = {},
): TransformStream<Uint8Array, Uint8Array> => {
  const observer = new StreamObserver(listener, options.now === undefined ? {} : { now: options.now })
  const parserOptions = (streamStart: boolean): SseParserOptions => ({
    decodeData: (event) => observer.wants(event),
    streamStart,
    ...(options.maxEventBytes === undefined ? {} : { maxEventBytes: options.maxEventBytes }),
  })
  const parser = new SseParser(parserOptions(true))
  const window = new TailWindow(options.tailBytes ?? DEFAULT_TAIL_BYTES)
  /** tail mode: nothing looks at the bytes until the end */
  let tail = false
  let ended = false

  const take = (message: SseMessage) => {
    // `event:` names let most deltas be skipped without decoding or JSON parsing.
    if (message.event !== undefined && !observer.wants(message.event)) return
    const json = parseData(message)
    if (json !== undefined) observer.event(json)
  }
  const consume = (messages: Array<SseMessage>) => {
    for (const message of messages) {
      if (observer.done) return
      take(message)
    }
  }
  /** parse mode: reads up to the event that settles (or ends) the response */
  const settles = (message: SseMessage): boolean => {
    take(message)
    return observer.done || observer.settled
  }

  /**
   * One event `[from, to)` found by the backward walk: the JSON it carries when it may belong to the end of
   * the stream (a terminal event, or one without a type such as `[DONE]`, a comment, a keepalive without
   * data), or undefined for any other event: the end of the stream lies after it.
   */
  const tailEvent = (from: number, to: number): Array<unknown> | undefined => {
    let declined = false
    const parser = new SseParser({
      ...parserOptions(from === 0),
      decodeData: (event) => {
        if (observer.wants(event)) return true
        declined = true
        return false
      },
    })
    const messages: Array<SseMessage> = []
    for (const slice of window.slices(from, to)) for (const message of parser.push(slice)) messages.push(message)
    for (const message of parser.end()) messages.push(message)
    if (declined) return undefined
    const out: Array<unknown> = []
    for (const message of messages) {
      const json = parseData(message)
      const type = field(json, "type")
      if (typeof type !== "string") continue
      if (!(type in TERMINAL) && type !== "codex.rate_limits") return undefined
      out.push(json)
    }
    return out
  }

  /**
   * End of stream in tail mode: walks back over the last events while they are terminal (or carry nothing),
   * then reports them in stream order, so the first terminal event wins as it would going forward.
   * `complete`: the stream closed normally, so a last event without its blank line still counts (as the
   * parser's `end()` would); after an error or a cancel only events ended by a blank line count.
   */
  const finishTail = (complete: boolean) => {
    if (!window.intact()) return observer.end("stream closed before response.completed (kept bytes were detached)")
    const lower = window.lower
    let pos = complete ? window.end : window.boundaryBefore(window.end, false)
    const found: Array<Array<unknown>> = []
    while (pos > lower && found.length < TAIL_EVENTS) {
      const from = window.boundaryBefore(pos, true)
      if (from === -1) {
        if (found.length === 0) pos = -1
        break
      }
      const jsons = tailEvent(from, pos)
      if (jsons === undefined) break
      found.push(jsons)
      pos = from
    }
    for (let i = found.length - 1; i >= 0; i--) {
      for (const json of found[i] as Array<unknown>) {
        observer.event(json)
        if (observer.done) return
      }
    }
    if (pos === -1) {
      observer.end(`stream closed before response.completed (its last event exceeds the ${window.cap} bytes kept)`)
    }
  }

  const end = (complete: boolean) => {
    if (ended) return
    ended = true
    try {
      if (tail) finishTail(complete)
      else if (complete) consume(parser.end())
    } catch {
      // nothing here throws by design; this only shields the byte flow from a bug on the side
    }
    observer.end()
  }

  // `cancel` (WHATWG 2023) runs on an upstream abort or a reader cancel; Bun supports it, the DOM lib types lag.
  const transformer: Transformer<Uint8Array, Uint8Array> & { cancel: (reason: unknown) => void } = {
    transform(chunk, controller) {
      controller.enqueue(chunk)
      if (tail) {
        if (chunk.length > 0) window.add(chunk)
        return
      }
      if (observer.done || chunk.length === 0) return
      try {
        window.add(chunk)
        const stop = parser.pushUntil(chunk, settles)
        if (observer.done) return
        if (stop === -1) {
          // keep only the parser's open event
          window.setFloor(parser.eventStart)
          return
        }
        // the rest of this chunk is left to the backward walk, which must not step back past this point
        window.setFloor(window.end - chunk.length + stop)
        tail = true
      } catch {
        // see above
      }
    },
    flush() {
      end(true)
    },
    // upstream error (pipeThrough aborts the writable) or the reader cancelling
    cancel() {
      end(false)
    },
  }
  return new TransformStream<Uint8Array, Uint8Array>(transformer)
}
