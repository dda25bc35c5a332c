/**
 * The per-response state of the stream observer: what one parsed event (an SSE `data:` object or a WebSocket
 * frame) means for the listener. Both byte paths share it: `SseObserver.ts` feeds it SSE events, the
 * WebSocket transports feed it frames (one `StreamObserver` per response, owned by the caller). Re-exported by
 * `SseObserver.ts`, its public home.
 *
 * FirstOutput rule: the first event proving the model has produced something a user sees or a tool runs —
 * a text / reasoning / tool-argument delta, an `output_item.added` for a tool call or for a message that
 * already has content, or an `output_item.done` for an item with content. Items announced empty (a reasoning
 * or message item before its first delta) do not count: until real output exists, a failed attempt can
 * still be retried on another account without the user having seen half an answer, so the signal must not
 * fire early. Server-side tool activity (`web_search_call.*`) is not output either.
 */
import { classifyEvent, Transient } from "../CodexError.ts"
import { quotaFromHeaders, quotaFromRateLimitsFrame } from "../Quota.ts"
import { type StreamEvent, type StreamEventListener, type TerminalOutcome, Usage } from "../StreamEvent.ts"

const DELTAS = new Set([
  "response.output_text.delta",
  "response.reasoning_summary_text.delta",
  "response.reasoning_text.delta",
  "response.function_call_arguments.delta",
  "response.custom_tool_call_input.delta",
])
const TOOL_CALLS = new Set(["function_call", "custom_tool_call", "local_shell_call"])
/** the events that end a response, and what each means */
export const TERMINAL: Record<string, TerminalOutcome> = {
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
export const field = (o: unknown, key: string): unknown =>
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
