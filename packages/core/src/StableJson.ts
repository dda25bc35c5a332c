/**
 * Byte-stable serialization of a Codex request body. The backend's prompt cache keys on the exact prefix
 * bytes, so a turn must reproduce the previous turn's bytes and only append. Top-level keys get one fixed
 * order (the order Codex CLI itself writes); nested values keep the host's own key order, because sorting
 * them would not make them any more stable (the host already writes them the same way every turn) and
 * would cost a deep walk of a body that can be megabytes long.
 *
 * A `WireBody` is the body and its text in one value: the text is written from the (frozen) body when the
 * value is made and from nothing else, so the two cannot disagree.
 */
import { deepFreeze, type HostInput, type WireArray } from "./internal/host-input.ts"

/**
 * The order Codex CLI serializes `ResponsesApiRequest` in; other keys follow, sorted. The rewrite builds its
 * bodies in this order.
 */
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

/** A request body together with the exact text that goes on the wire for it. */
export interface WireBody {
  /**
   * the body, keys in wire order; frozen at the top level, and every input item too when the text was
   * assembled from texts recorded for items (a body the memo parsed)
   */
  readonly json: Readonly<Record<string, unknown>>
  /** exactly `JSON.stringify(json)` */
  readonly text: string
}

/** The `input` array's text, reusing the previous turn's array text and the host's own item texts. */
const inputText = (items: ReadonlyArray<unknown>, host: HostInput, bodyStart: number) => {
  // the same request prepared again (another account) wrote exactly these items already
  const earlier = host.latest ?? host.previous
  let shared = 0
  if (earlier !== undefined) {
    const limit = Math.min(earlier.items.length, items.length)
    while (shared < limit && earlier.items[shared] === items[shared]) shared++
  }
  const ends: Array<number> = shared === 0 ? [] : (earlier as WireArray).ends.slice(0, shared)
  let text =
    shared === 0
      ? "["
      : (earlier as WireArray).source.slice(
          (earlier as WireArray).start,
          (earlier as WireArray).start + (ends[shared - 1] as number),
        )
  for (let i = shared; i < items.length; i++) {
    const item = items[i]
    // only the host's own items (frozen by the memo) and the copies cut from them (frozen when cut) can have
    // host text; one a rule just made cannot
    const own = typeof item === "object" && item !== null && Object.isFrozen(item) ? host.hostText(item) : undefined
    const piece = own ?? JSON.stringify(item) ?? "null"
    // items a rule made are frozen here, once written (JSC writes frozen values slowly; nothing runs in
    // between): the host's are frozen already, the shared ones were on the earlier turn, so the text
    // recorded for every item stays its own
    deepFreeze(item)
    text += i === 0 ? piece : `,${piece}`
    ends.push(text.length)
  }
  return { text: `${text}]`, ends, start: bodyStart }
}

/**
 * The wire body of `ordered` (keys already in the order wanted). Without `host`, one `JSON.stringify`; with
 * it (a body the memo parsed), the `input` text is assembled from texts known to belong to these very items,
 * and the array is recorded on `host` for the next turn. The text is the same either way.
 */
export const wireBody = (ordered: Record<string, unknown>, host?: HostInput): WireBody => {
  const input = ordered.input
  // written first, frozen after (nothing else holds `ordered` in between): JSC's JSON.stringify takes a slow
  // path for a frozen object, which cost a fifth of a 10 KB rewrite (docs/performance.md, "Round 3: rewrite2")
  if (host === undefined || !Array.isArray(input)) {
    const text = JSON.stringify(ordered)
    return { json: Object.freeze(ordered), text }
  }
  const json = ordered
  let head = "{"
  let tail = ""
  let array: ReturnType<typeof inputText> | undefined
  for (const key in json) {
    const value = json[key]
    if (key === "input" && array === undefined) {
      head += `${head === "{" ? "" : ","}"input":`
      array = inputText(input, host, head.length)
      continue
    }
    const valueText = JSON.stringify(value)
    if (valueText === undefined) continue
    const member = `${JSON.stringify(key)}:${valueText}`
    if (array === undefined) head += head === "{" ? member : `,${member}`
    else tail += `,${member}`
  }
  const written = array as ReturnType<typeof inputText>
  const text = `${head}${written.text}${tail}}`
  // a copy of the array: the record must name the very items this text was written from
  host.latest = { items: input.slice(), source: text, start: written.start, ends: written.ends }
  host.previous = undefined
  return { json: Object.freeze(json), text }
}
