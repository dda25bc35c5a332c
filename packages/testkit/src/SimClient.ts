/**
 * Tiny client-side helpers for talking to the simulator from tests: request headers for an account, a valid
 * minimal body, and a forgiving SSE text parser (the product's own parser lives in core/Sse.ts).
 */
import type { SimAccount } from "./SimTypes.ts"

export const codexHeaders = (account: {
  readonly accountId: string
  readonly tokens: Pick<SimAccount["tokens"], "access">
}): Record<string, string> => ({
  authorization: `Bearer ${account.tokens.access}`,
  "chatgpt-account-id": account.accountId,
  "content-type": "application/json",
  accept: "text/event-stream",
  // the Codex client version the backend gates models on (SimRules); the catalog's release
  version: "0.144.0",
})

export const userMessage = (text: string) => ({
  type: "message",
  role: "user",
  content: [{ type: "input_text", text }],
})

export const codexBody = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  model: "gpt-5.5",
  instructions: "You are a test.",
  input: [userMessage("hello")],
  tools: [],
  store: false,
  stream: true,
  prompt_cache_key: "sim-session",
  ...overrides,
})

export interface ParsedSseEvent {
  readonly event?: string
  readonly data: string
  /** the parsed data, or undefined when it is not JSON */
  readonly json?: Record<string, unknown>
}

export const parseSseText = (text: string): Array<ParsedSseEvent> =>
  text
    .split("\n\n")
    .filter((block) => block.trim().length > 0)
    .map((block) => {
      let event: string | undefined
      const data: Array<string> = []
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim()
        else if (line.startsWith("data:")) data.push(line.slice(5).trimStart())
      }
      const joined = data.join("\n")
      let json: Record<string, unknown> | undefined
      try {
        json = JSON.parse(joined)
      } catch {}
      return { ...(event === undefined ? {} : { event }), data: joined, ...(json === undefined ? {} : { json }) }
    })
