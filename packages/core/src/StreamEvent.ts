/**
 * What the SSE observer (and every transport) reports on the side while the bytes flow through untouched.
 *
 * CONTRACT: shared by core (Sse observer), transports and accounts. Add only.
 */
import { Schema } from "effect"
import type { CodexFailure } from "./CodexError.ts"
import type { QuotaSnapshot } from "./Quota.ts"

export class Usage extends Schema.Class<Usage>("Usage")({
  inputTokens: Schema.Number,
  cachedTokens: Schema.Number,
  outputTokens: Schema.Number,
  reasoningTokens: Schema.Number,
  totalTokens: Schema.Number,
}) {}

export type TerminalOutcome = "completed" | "incomplete" | "failed" | "error" | "dropped"

export type StreamEvent =
  /** `response.created` (or later) carried the response id */
  | { readonly _tag: "ResponseId"; readonly id: string }
  /** the first event that carries model output (text, reasoning, a tool call) */
  | { readonly _tag: "FirstOutput"; readonly eventType: string }
  | { readonly _tag: "Usage"; readonly usage: Usage }
  | { readonly _tag: "Quota"; readonly snapshot: QuotaSnapshot }
  /** the stream ended; `failure` is set for failed / error / dropped */
  | { readonly _tag: "Terminal"; readonly outcome: TerminalOutcome; readonly failure?: CodexFailure }

export type StreamEventListener = (event: StreamEvent) => void
