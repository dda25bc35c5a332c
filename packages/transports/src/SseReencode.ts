/**
 * WebSocket frames carry one `response.*` JSON each; the caller reads SSE. The frame text is reused as the
 * `data:` payload as is (no re-serialisation), so the SSE parser yields the very same JSON.
 *
 * Most frames of a stream are deltas nobody on our side needs to look into: `frameType` reads the type from
 * the frame's leading `{"type":"..."` so those skip `JSON.parse` entirely, and `sseText` builds the SSE
 * record as a string so that a batch of records is UTF-8 encoded once.
 */
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

const PREFIX = '{"type":"'

/**
 * The `type` of a frame shaped `{"type":"<plain type>", ... }` without parsing it; `undefined` when the frame
 * does not start that way (other key order, whitespace, escapes, control characters) and must be parsed.
 */
export const frameType = (text: string): string | undefined => {
  if (!text.startsWith(PREFIX)) return undefined
  const end = text.indexOf('"', PREFIX.length)
  // the shortest object continuing after the type is `"}`; anything else must at least end like an object
  if (end < 0 || text.charCodeAt(text.length - 1) !== 0x7d) return undefined
  for (let i = PREFIX.length; i < end; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x20 || c === 0x5c) return undefined
  }
  return text.slice(PREFIX.length, end)
}

const hasLineBreak = (s: string): boolean => s.indexOf("\n") !== -1 || s.indexOf("\r") !== -1

/** `event: <type>\ndata: <frame text>\n\n` as a string (the same bytes as core `encodeSse` once encoded). */
export const sseText = (type: string, text: string): string => {
  const name = hasLineBreak(type) ? type.replace(/[\r\n]/g, "") : type
  if (!hasLineBreak(text)) return `event: ${name}\ndata: ${text}\n\n`
  return `event: ${name}\ndata: ${text.split(/\r\n|\r|\n/).join("\ndata: ")}\n\n`
}
