/**
 * Transport-independent parts of the simulated `/codex/responses`: the byte-prefix prompt cache and the event
 * sequence of a reply (shared by SSE and WebSocket). What the backend refuses is in `SimRules.ts`.
 */
import { randomId } from "./SimJwt.ts"
import type { SimState } from "./SimState.ts"
import type { ReplySpec, SimUsage } from "./SimTypes.ts"

const encoder = new TextEncoder()

export const renderPrompt = (body: Record<string, unknown>, input: ReadonlyArray<unknown>): Uint8Array => {
  let text = typeof body.instructions === "string" ? body.instructions : ""
  text += JSON.stringify(body.tools ?? [])
  for (const item of input) text += JSON.stringify(item)
  return encoder.encode(text)
}

/** Compares 4 KiB blocks natively (memcmp) and only walks bytes inside the first block that differs. */
const BLOCK = 4096
export const commonPrefix = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  const x = Buffer.from(a.buffer, a.byteOffset, a.byteLength)
  const y = Buffer.from(b.buffer, b.byteOffset, b.byteLength)
  let i = 0
  while (i + BLOCK <= n && x.compare(y, i, i + BLOCK, i, i + BLOCK) === 0) i += BLOCK
  while (i < n && a[i] === b[i]) i++
  return i
}

/** the backend's cache does not keep every prompt forever either; this bounds the simulator's work per request */
const HISTORY_PER_KEY = 32

/** input/cached token counts for this prompt, then remember it for later requests of the same cache key */
export const promptUsage = (
  state: SimState,
  accountId: string,
  cacheKey: string | undefined,
  prompt: Uint8Array,
): { readonly inputTokens: number; readonly cachedTokens: number } => {
  const inputTokens = Math.ceil(prompt.length / 4)
  if (cacheKey === undefined) return { inputTokens, cachedTokens: 0 }
  const key = `${accountId}\u0000${cacheKey}`
  const history = state.cache.get(key) ?? []
  let best = 0
  for (const earlier of history) best = Math.max(best, commonPrefix(earlier, prompt))
  history.push(prompt)
  if (history.length > HISTORY_PER_KEY) history.shift()
  state.cache.set(key, history)
  return { inputTokens, cachedTokens: Math.floor(best / 4) }
}

export type Segment =
  | { readonly kind: "event"; readonly event: Record<string, unknown> }
  | { readonly kind: "repeat"; readonly event: Record<string, unknown>; readonly count: number }

export interface BuiltReply {
  readonly responseId: string
  readonly created: Record<string, unknown>
  /** everything after response.created up to and excluding response.completed */
  readonly body: ReadonlyArray<Segment>
  readonly completed: Record<string, unknown>
  /** the finished output items (what a chained WebSocket request continues from) */
  readonly output: ReadonlyArray<Record<string, unknown>>
  readonly usage: SimUsage
}

const splitText = (text: string, parts: number): Array<string> => {
  const n = Math.max(1, Math.min(parts, text.length))
  const size = Math.ceil(text.length / n)
  const out: Array<string> = []
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
  return out.length === 0 ? [""] : out
}

const tokens = (text: string) => Math.ceil(encoder.encode(text).length / 4)

export const responseHeader = (responseId: string, model: string, createdAt: number) => ({
  type: "response.created",
  response: {
    id: responseId,
    object: "response",
    created_at: createdAt,
    model,
    status: "in_progress",
    output: [],
  },
})

export const buildReply = (
  reply: ReplySpec,
  ctx: {
    readonly model: string
    readonly nowMs: number
    readonly defaultText: string
    readonly inputTokens: number
    readonly cachedTokens: number
  },
): BuiltReply => {
  const responseId = randomId("resp_", 16)
  const createdAt = Math.floor(ctx.nowMs / 1000)
  const body: Array<Segment> = []
  const output: Array<Record<string, unknown>> = []
  const push = (event: Record<string, unknown>) => body.push({ kind: "event", event })
  let outputTokens = 0
  let reasoningTokens = 0

  if (reply.reasoning !== undefined) {
    const id = randomId("rs_", 12)
    const output_index = output.length
    const summary = [{ type: "summary_text", text: reply.reasoning }]
    push({ type: "response.output_item.added", output_index, item: { id, type: "reasoning", summary: [] } })
    const part = { item_id: id, output_index, summary_index: 0 }
    push({ type: "response.reasoning_summary_part.added", ...part, part: { type: "summary_text", text: "" } })
    push({ type: "response.reasoning_summary_text.delta", ...part, delta: reply.reasoning })
    push({ type: "response.reasoning_summary_text.done", ...part, text: reply.reasoning })
    push({ type: "response.reasoning_summary_part.done", ...part, part: summary[0] })
    const item = { id, type: "reasoning", summary, encrypted_content: `enc_${randomId("", 16)}` }
    push({ type: "response.output_item.done", output_index, item })
    output.push(item)
    reasoningTokens = tokens(reply.reasoning)
  }

  const wantsText = reply.text !== undefined || reply.deltas !== undefined || reply.toolCalls === undefined
  if (wantsText) {
    const id = randomId("msg_", 12)
    const output_index = output.length
    const base = { id, type: "message", role: "assistant" }
    push({ type: "response.output_item.added", output_index, item: { ...base, status: "in_progress", content: [] } })
    const at = { item_id: id, output_index, content_index: 0 }
    push({ type: "response.content_part.added", ...at, part: { type: "output_text", text: "", annotations: [] } })
    let text: string
    if (reply.deltas !== undefined) {
      // One pre-built delta frame repeated: the transports encode it once, keeping the hot path cheap.
      const piece = "lorem "
      text = piece.repeat(reply.deltas)
      body.push({
        kind: "repeat",
        count: reply.deltas,
        event: { type: "response.output_text.delta", ...at, delta: piece },
      })
      outputTokens += reply.deltas
    } else {
      text = reply.text ?? ctx.defaultText
      for (const delta of splitText(text, reply.chunks ?? 4)) {
        push({ type: "response.output_text.delta", ...at, delta })
      }
      outputTokens += tokens(text)
    }
    const content = { type: "output_text", text, annotations: [] }
    push({ type: "response.output_text.done", ...at, text })
    push({ type: "response.content_part.done", ...at, part: content })
    const item = { ...base, status: "completed", content: [content] }
    push({ type: "response.output_item.done", output_index, item })
    output.push(item)
  }

  for (const call of reply.toolCalls ?? []) {
    const id = randomId("fc_", 12)
    const output_index = output.length
    const args = typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments)
    const base = { id, type: "function_call", call_id: call.callId ?? randomId("call_", 12), name: call.name }
    push({ type: "response.output_item.added", output_index, item: { ...base, status: "in_progress", arguments: "" } })
    push({ type: "response.function_call_arguments.delta", item_id: id, output_index, delta: args })
    push({ type: "response.function_call_arguments.done", item_id: id, output_index, arguments: args })
    const item = { ...base, status: "completed", arguments: args }
    push({ type: "response.output_item.done", output_index, item })
    output.push(item)
    outputTokens += tokens(args) + tokens(call.name)
  }

  const usage: SimUsage = {
    input_tokens: ctx.inputTokens,
    input_tokens_details: { cached_tokens: ctx.cachedTokens },
    output_tokens: outputTokens + reasoningTokens,
    output_tokens_details: { reasoning_tokens: reasoningTokens },
    total_tokens: ctx.inputTokens + outputTokens + reasoningTokens,
  }
  const created = responseHeader(responseId, ctx.model, createdAt)
  const completed = {
    type: "response.completed",
    response: { ...created.response, status: "completed", output, usage },
  }
  return { responseId, created, body, completed, output, usage }
}

export const failedEvent = (responseId: string, model: string, nowMs: number, code: string, message: string) => ({
  type: "response.failed",
  response: {
    ...responseHeader(responseId, model, Math.floor(nowMs / 1000)).response,
    status: "failed",
    error: { code, message },
  },
})
