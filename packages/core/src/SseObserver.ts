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
import { Schema } from "effect"
import { classifyEvent, Transient } from "./CodexError.ts"
import { ChunkWindow, MarkerScanner } from "./internal/sse-skip.ts"
import { quotaFromHeaders, quotaFromRateLimitsFrame } from "./Quota.ts"
import { type SseMessage, SseParser, type SseParserOptions } from "./Sse.ts"
import { type StreamEvent, type StreamEventListener, type TerminalOutcome, Usage } from "./StreamEvent.ts"

export interface ObserverOptions {
  /** epoch ms clock for quota readings and reset hints; default `Date.now` */
  readonly now?: () => number
  readonly maxEventBytes?: number
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

const lenientNumber = Schema.optional(Schema.Unknown)
const UsageJson = Schema.Struct({
  input_tokens: lenientNumber,
  output_tokens: lenientNumber,
  total_tokens: lenientNumber,
  input_tokens_details: Schema.optional(Schema.Unknown),
  output_tokens_details: Schema.optional(Schema.Unknown),
})
const decodeUsage = Schema.decodeUnknownOption(UsageJson)

const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0)
const field = (o: unknown, key: string): unknown =>
  typeof o === "object" && o !== null ? (o as Record<string, unknown>)[key] : undefined

const usageFrom = (raw: unknown): Usage | undefined => {
  const decoded = decodeUsage(raw)
  if (decoded._tag === "None") return undefined
  const u = decoded.value
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

/** PARSE -> SKIP only when the parser's open event is at most this long (it is searched once for markers) */
const RESCAN_LIMIT = 64 * 1024
/** chunks kept by reference for stepping back from a marker to its event's start */
const WINDOW_BYTES = 256 * 1024

/**
 * A pass-through `TransformStream` for an SSE response body that reports `StreamEvent`s on the side.
 * Every chunk object is enqueued unchanged before it is looked at, so observing adds no latency.
 *
 * Until the id and first output are seen every line is parsed (the prefix is short). Then the observer
 * switches to skip mode (`internal/sse-skip.ts`): chunks are only searched for byte markers, and the full
 * parser is restarted at the start of an event that holds one. It switches back as soon as that parser
 * holds no open event with a marker.
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
  let parser = new SseParser(parserOptions(true))
  /** absolute offset of the parser's first byte */
  let parserAt = 0
  const window = new ChunkWindow(WINDOW_BYTES)
  let scanner: MarkerScanner | undefined
  /** skip mode: offsets below this are searched; `floor` is the last known event boundary */
  let scanFrom = 0
  let floor = 0
  /** parse mode after a hit: the marker that the parser must get past before skipping again */
  let hitAt = -1

  const consume = (messages: Array<SseMessage>) => {
    for (const message of messages) {
      if (observer.done) return
      // `event:` names let most deltas be skipped without decoding or JSON parsing.
      if (message.event !== undefined && !observer.wants(message.event)) continue
      const json = parseData(message)
      if (json !== undefined) observer.event(json)
    }
  }

  /** parse mode, after a chunk: enter skip mode if the parser's open event holds no marker */
  const maybeSkip = () => {
    if (observer.done || !observer.settled) return
    const open = parserAt + parser.eventStart
    if (open <= hitAt || window.end - open > RESCAN_LIMIT || open < window.start) return
    const fresh = new MarkerScanner()
    for (const [at, chunk] of spans(window, open)) {
      const found = fresh.feed(chunk, at, open)
      if (found !== -1) {
        hitAt = found
        return
      }
    }
    scanner = fresh
    scanFrom = open
    floor = open
  }

  /** skip mode: one chunk (already in the window) starting at `at` */
  const skip = (chunk: Uint8Array, at: number, active: MarkerScanner) => {
    for (;;) {
      const found = active.feed(chunk, at, scanFrom)
      if (found === -1) return
      const start = window.eventStart(found, floor)
      if (start === -1) {
        // the event began before the window reaches: treated like an oversized event
        scanFrom = found + 1
        continue
      }
      scanner = undefined
      hitAt = found
      parser = new SseParser(parserOptions(start === 0))
      parserAt = start
      for (const slice of window.slices(start)) {
        consume(parser.push(slice))
        if (observer.done) return
      }
      maybeSkip()
      return
    }
  }

  // `cancel` (WHATWG 2023) runs on an upstream abort or a reader cancel; Bun supports it, the DOM lib types lag.
  const transformer: Transformer<Uint8Array, Uint8Array> & { cancel: (reason: unknown) => void } = {
    transform(chunk, controller) {
      controller.enqueue(chunk)
      if (observer.done || chunk.length === 0) return
      try {
        const at = window.end
        window.add(chunk)
        if (scanner !== undefined) skip(chunk, at, scanner)
        else {
          consume(parser.push(chunk))
          maybeSkip()
        }
      } catch {
        // nothing here throws by design; this only shields the byte flow from a bug on the side
      }
    },
    flush() {
      try {
        // in skip mode every marker has been searched for: nothing is pending
        if (scanner === undefined) consume(parser.end())
      } catch {
        // see above
      }
      observer.end()
    },
    // upstream error (pipeThrough aborts the writable) or the reader cancelling
    cancel() {
      observer.end()
    },
  }
  return new TransformStream<Uint8Array, Uint8Array>(transformer)
}

/** `[absolute offset, bytes]` of the window from `from` on */
const spans = (window: ChunkWindow, from: number): Array<[number, Uint8Array]> => {
  const out: Array<[number, Uint8Array]> = []
  let at = from
  for (const slice of window.slices(from)) {
    out.push([at, slice])
    at += slice.length
  }
  return out
}
