/**
 * WebSocket frames carry one `response.*` JSON each; the caller reads SSE. The frame text is reused as the
 * `data:` payload as is (no re-serialisation), so the SSE parser yields the very same JSON.
 */
import { encodeSse } from "@cortexkit/openai-auth-core/Sse"

export interface DecodedFrame {
  readonly json: Record<string, unknown>
  readonly type: string
}

/** Parses one text frame; `undefined` when it is not a JSON object with a string `type`. */
export const decodeFrame = (text: string): DecodedFrame | undefined => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    return undefined
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) return undefined
  const type = (json as { type?: unknown }).type
  return typeof type === "string" ? { json: json as Record<string, unknown>, type } : undefined
}

/** `event: <type>\ndata: <frame text>\n\n` */
export const frameToSse = (type: string, text: string): Uint8Array => encodeSse(type, text)
