/**
 * Byte-stable serialization of a Codex request body. The backend's prompt cache keys on the exact prefix
 * bytes, so a turn must reproduce the previous turn's bytes and only append. Top-level keys get one fixed
 * order (the order Codex CLI itself writes); nested values keep the host's own key order, because sorting
 * them would not make them any more stable (the host already writes them the same way every turn) and
 * would cost a deep walk of a body that can be megabytes long.
 */
import { serializeBody } from "./internal/item-text.ts"

/** The order Codex CLI serializes `ResponsesApiRequest` in; other keys follow, sorted. */
export const TOP_LEVEL_KEY_ORDER: ReadonlyArray<string> = [
  "model",
  "instructions",
  "previous_response_id",
  "input",
  "tools",
  "tool_choice",
  "parallel_tool_calls",
  "reasoning",
  "store",
  "stream",
  "include",
  "prompt_cache_key",
  "text",
  "generate",
  "client_metadata",
]

const KNOWN = new Set(TOP_LEVEL_KEY_ORDER)

/**
 * A shallow copy of `body` whose own keys are in the stable order. Values are shared, not copied; keys whose
 * value is `undefined` are left out (JSON would drop them anyway).
 */
export const orderTopLevel = (body: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const out: Record<string, unknown> = {}
  for (const key of TOP_LEVEL_KEY_ORDER) {
    const value = body[key]
    if (value !== undefined) out[key] = value
  }
  const rest: Array<string> = []
  for (const key in body) {
    if (!KNOWN.has(key) && Object.hasOwn(body, key) && body[key] !== undefined) rest.push(key)
  }
  if (rest.length > 0) {
    rest.sort()
    for (const key of rest) {
      // JSON.parse makes `__proto__` an own key; an assignment would set the copy's prototype instead
      if (key === "__proto__") Object.defineProperty(out, key, { value: body[key], enumerable: true, writable: true })
      else out[key] = body[key]
    }
  }
  return out
}

/**
 * `JSON.stringify(body)` (same text) for a request body whose own keys are already in the order wanted, taking
 * the text of its `input` items from what the host sent and from the previous turn where it can (see
 * `HostBodyMemo`). The rewrite and the WebSocket frames put bodies on the wire with it.
 */
export const serializeRequestBody = (body: Readonly<Record<string, unknown>>): string => serializeBody(body)

/** The stable JSON text of a request body (see `orderTopLevel`). Same input, same bytes. */
export const stringifyStable = (body: Readonly<Record<string, unknown>>): string => serializeBody(orderTopLevel(body))

const encoder = new TextEncoder()

/** `stringifyStable` as UTF-8 bytes. */
export const encodeStable = (body: Readonly<Record<string, unknown>>): Uint8Array =>
  encoder.encode(stringifyStable(body))
