/**
 * The identity headers and `client_metadata` Codex CLI sends with every request (docs/protocol.md §3.1,
 * codex-rs core/src/responses_metadata.rs), derived from the session key and the conversation alone: no
 * state is kept between requests, so every account, retry and process prepares the same values.
 *
 * - `thread-id` = the session key (a root agent's thread is its session), and so is `x-client-request-id`.
 * - `x-codex-window-id` = `<thread id>:0`: the context window's generation; the host compacts on its own,
 *   so ours never advances.
 * - the turn id is stable inside one tool loop and new for each user turn: a hash of the session key, the
 *   number of user messages and the last one's text, shaped as a UUID.
 * - `x-codex-turn-metadata` (and the same in `client_metadata`): `session_id, thread_id, turn_id,
 *   window_id, request_kind`, in codex-rs's field order. codex-rs leaves out what it does not know, and so
 *   do we: no installation id, sandbox or turn start time (each would need state we do not keep).
 */

export interface SessionMetadata {
  readonly threadId: string
  readonly windowId: string
  readonly turnId: string
  /** the compact JSON of `x-codex-turn-metadata`, non-ASCII escaped (it is also a header value) */
  readonly turnMetadata: string
}

type Json = Record<string, unknown>

const isUserMessage = (item: unknown): boolean =>
  typeof item === "object" &&
  item !== null &&
  (item as Json).role === "user" &&
  ((item as Json).type === undefined || (item as Json).type === "message")

/** murmur3's 32-bit finaliser: every input bit affects every output bit */
const mix = (h: number): number => {
  let x = h ^ (h >>> 16)
  x = Math.imul(x, 0x85ebca6b)
  x ^= x >>> 13
  x = Math.imul(x, 0xc2b2ae35)
  return (x ^ (x >>> 16)) >>> 0
}

/** two hex digits per byte value: `Number.toString(16)` is slow on JSC */
const HEX: ReadonlyArray<string> = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"))
const DIGIT = "0123456789abcdef"

/**
 * Two FNV-1a lanes over a text fed piece by piece (the text itself is never built): the seed of a turn id,
 * an id, not a secret (node:crypto's streaming hash costs tens of microseconds per call on Bun).
 */
class Lanes {
  a = 0x811c9dc5
  b = 0x9e3779b9

  feed(text: string): void {
    let a = this.a
    let b = this.b
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i)
      a = Math.imul(a ^ ch, 0x01000193)
      b = Math.imul(b ^ ch, 0x01000193) ^ (a >>> 7)
    }
    this.a = a
    this.b = b
  }

  /** A message's content: a string, or its parts' texts each ended by NUL (SOH for a part without text). */
  feedContent(content: unknown): void {
    if (typeof content === "string") this.feed(content)
    else if (Array.isArray(content)) {
      for (const part of content) {
        const text = typeof part === "object" && part !== null ? (part as Json).text : undefined
        if (typeof text === "string") {
          this.feed(text)
          this.feed("\u0000")
        } else this.feed("\u0001")
      }
    }
  }

  /**
   * A UUID-shaped id (version 8, "custom"), written in one template from four mixed words (8-4-4-4-12 hex
   * digits, the version nibble 8, the variant 10xx) without intermediate hex strings.
   */
  uuid(): string {
    const { a, b } = this
    const w0 = mix(a)
    const w1 = mix(b ^ 0x5bd1e995)
    const w2 = mix(a ^ b)
    const w3 = mix(b + 0x27d4eb2f)
    return `${HEX[w0 >>> 24]}${HEX[(w0 >>> 16) & 255]}${HEX[(w0 >>> 8) & 255]}${HEX[w0 & 255]}-${HEX[w1 >>> 24]}${
      HEX[(w1 >>> 16) & 255]
    }-8${DIGIT[(w1 >>> 8) & 15]}${HEX[w1 & 255]}-${DIGIT[((w2 >>> 28) & 3) | 8]}${DIGIT[(w2 >>> 24) & 15]}${
      HEX[(w2 >>> 16) & 255]
    }-${HEX[(w2 >>> 8) & 255]}${HEX[w2 & 255]}${HEX[w3 >>> 24]}${HEX[(w3 >>> 16) & 255]}${HEX[(w3 >>> 8) & 255]}${
      HEX[w3 & 255]
    }`
  }
}

/** A JSON string literal with every non-ASCII character escaped, as codex-rs writes header JSON. */
const asciiString = (value: string): string => {
  const text = JSON.stringify(value)
  return NON_ASCII.test(text)
    ? text.replace(NON_ASCII_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)
    : text
}
const NON_ASCII = /[\u007f-\uffff]/
const NON_ASCII_ALL = /[\u007f-\uffff]/g

/**
 * The metadata each session's latest turn was given, kept by the caller (`HostBodyMemo.turns`, one per fetch)
 * so that the requests of one tool loop share the strings instead of writing them again: a 10 KB request
 * spent a tenth of its rewrite writing them (docs/performance.md, "Round 3: rewrite2"). An entry is reused
 * only for the same session key and the same two hash lanes, which are all the metadata is made from, so a
 * reused value is exactly the one that would be built. A few dozen sessions, the oldest dropped first.
 */
export class SessionTurns {
  private readonly recent = new Map<
    string,
    { readonly a: number; readonly b: number; readonly meta: SessionMetadata }
  >()

  constructor(private readonly max = 32) {}

  /** The metadata for `sessionKey` whose hashed turn left the lanes at `lanes`; built by `make` when new. */
  of(sessionKey: string, lanes: Lanes, make: () => SessionMetadata): SessionMetadata {
    const known = this.recent.get(sessionKey)
    if (known !== undefined && known.a === lanes.a && known.b === lanes.b) return known.meta
    const meta = make()
    this.recent.delete(sessionKey)
    this.recent.set(sessionKey, { a: lanes.a, b: lanes.b, meta })
    if (this.recent.size > this.max) this.recent.delete(this.recent.keys().next().value as string)
    return meta
  }
}

/**
 * The session's metadata for a wire `input`; with `turns` (the caller's), the value its previous request in
 * the same user turn got.
 */
export const sessionMetadata = (
  sessionKey: string,
  input: ReadonlyArray<unknown>,
  turns?: SessionTurns,
): SessionMetadata => {
  // the user turn is counted, not located: items the rewrite adds or lifts must not move it
  let count = 0
  let last: unknown
  for (let i = 0; i < input.length; i++) {
    if (isUserMessage(input[i])) {
      count++
      last = input[i]
    }
  }
  // the id of `<session key> NUL <user turns> NUL <the last user message's text>`
  const lanes = new Lanes()
  lanes.feed(sessionKey)
  lanes.feed(`\u0000${count}\u0000`)
  if (last !== undefined) lanes.feedContent((last as Json).content)
  return turns === undefined
    ? metadataOf(sessionKey, lanes)
    : turns.of(sessionKey, lanes, () => metadataOf(sessionKey, lanes))
}

const metadataOf = (sessionKey: string, lanes: Lanes): SessionMetadata => {
  const turnId = lanes.uuid()
  const windowId = `${sessionKey}:0`
  // `{"session_id","thread_id","turn_id","window_id","request_kind"}` written out: the one header that is JSON
  const key = asciiString(sessionKey)
  const window = `${key.slice(0, -1)}:0"`
  const turnMetadata = `{"session_id":${key},"thread_id":${key},"turn_id":"${turnId}","window_id":${window},"request_kind":"turn"}`
  // shared by the requests of a turn when kept in `SessionTurns`: nobody may change it
  return Object.freeze({ threadId: sessionKey, windowId, turnId, turnMetadata })
}

/** The `client_metadata` of the body: the host's own keys, then Codex's (which win). */
export const clientMetadata = (host: unknown, session: string, meta: SessionMetadata): Json => {
  const codex: Json = {
    session_id: session,
    thread_id: meta.threadId,
    "x-codex-window-id": meta.windowId,
    turn_id: meta.turnId,
    "x-codex-turn-metadata": meta.turnMetadata,
  }
  // the host's own keys first, Codex's win
  if (typeof host !== "object" || host === null || Array.isArray(host)) return codex
  return { ...(host as Json), ...codex }
}
