/**
 * The SSE observer's tail mode. Once a response has shown its id and its first output, every event the
 * observer still has to report (`response.completed` / `incomplete` / `failed` / `done`, a top-level `error`)
 * is terminal and therefore the last event of the stream. So the bytes after that point are not looked at
 * while they flow: the chunks are only kept by reference (never copied), and at the end of the stream the
 * last events are found by walking BACKWARDS from the end over blank lines, and only that suffix is parsed.
 *
 * Memory stays bounded: beyond `cap` retained bytes the oldest chunks are let go. An event larger than the
 * cap can then no longer be found (reported by `boundaryBefore` as -1).
 */
import { type SseMessage, SseParser, type SseParserOptions } from "../Sse.ts"
import { field, TERMINAL } from "./stream-observer.ts"

const LF = 0x0a
const CR = 0x0d

export class TailWindow {
  private chunks: Array<Uint8Array | undefined> = []
  private head = 0
  /** absolute offset of `chunks[head]` */
  private startAt = 0
  /** absolute offset just past the last byte added */
  end = 0
  /** a known event boundary; the bytes from here on are all retained unless `truncated` */
  private floor = 0
  /** the cap let go of bytes past `floor`: the retained bytes no longer start at an event boundary */
  truncated = false

  constructor(readonly cap: number) {}

  /** hot path: one push and a comparison */
  add(chunk: Uint8Array): void {
    this.chunks.push(chunk)
    this.end += chunk.length
    if (this.end - this.startAt > this.cap) this.trim()
  }

  /** Declares `pos` an event boundary and lets go of every chunk wholly before it. */
  setFloor(pos: number): void {
    this.floor = pos
    this.truncated = false
    const chunks = this.chunks
    while (this.head < chunks.length - 1) {
      const first = chunks[this.head] as Uint8Array
      if (this.startAt + first.length > pos) break
      this.startAt += first.length
      chunks[this.head++] = undefined
    }
    this.compact()
  }

  /** lowest offset the backward walk may reach */
  get lower(): number {
    return this.truncated ? this.startAt : this.floor
  }

  /** Whether every retained chunk still has the length it was added with (a consumer may detach buffers). */
  intact(): boolean {
    let total = 0
    for (let i = this.head; i < this.chunks.length; i++) total += (this.chunks[i] as Uint8Array).length
    return total === this.end - this.startAt
  }

  private trim(): void {
    const chunks = this.chunks
    while (this.head < chunks.length - 1) {
      const first = chunks[this.head] as Uint8Array
      if (this.end - this.startAt - first.length < this.cap) break
      this.startAt += first.length
      chunks[this.head++] = undefined
      if (this.startAt > this.floor) this.truncated = true
    }
    this.compact()
  }

  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head)
      this.head = 0
    }
  }

  /** views of the bytes `[from, to)`, in order */
  slices(from: number, to: number): Array<Uint8Array> {
    const out: Array<Uint8Array> = []
    let at = this.startAt
    for (let i = this.head; i < this.chunks.length && at < to; i++) {
      const chunk = this.chunks[i] as Uint8Array
      const next = at + chunk.length
      if (next > from) out.push(chunk.subarray(Math.max(from, at) - at, Math.min(to, next) - at))
      at = next
    }
    return out
  }

  /**
   * The last event boundary before `pos`: the position just past a blank line (a run of line terminators
   * holding at least two, CRLF counting as one). With `skipAdjacent` the run of terminators that ends at
   * `pos` belongs to the event before `pos` and is stepped over, so the result is < `pos`; without it a
   * blank line ending exactly at `pos` makes `pos` itself the answer. Reaching the floor answers the floor;
   * reaching the start of truncated bytes answers -1 (the event is larger than what was kept).
   */
  boundaryBefore(pos: number, skipAdjacent: boolean): number {
    const lower = this.lower
    if (pos <= lower) return this.truncated ? -1 : lower
    let runEnd = -1
    let count = 0
    let laterLF = false
    let p = pos - 1
    // the chunk holding p, and its absolute offset
    let ci = this.chunks.length - 1
    let at = this.end - (this.chunks[ci] as Uint8Array).length
    while (at > p) at -= (this.chunks[--ci] as Uint8Array).length
    for (;;) {
      const chunk = this.chunks[ci] as Uint8Array
      const low = lower > at ? lower - at : 0
      // outside a run the scan jumps to the previous terminator (native search, positions cached per chunk)
      let lastLF = chunk.length
      let lastCR = chunk.length
      let i = p - at
      while (i >= low) {
        const b = chunk[i] as number
        if (b === LF) {
          if (runEnd === -1) runEnd = at + i + 1
          count++
          laterLF = true
          i--
          continue
        }
        if (b === CR) {
          if (runEnd === -1) runEnd = at + i + 1
          // a CR right before an LF is one CRLF terminator
          if (!laterLF) count++
          laterLF = false
          i--
          continue
        }
        if (runEnd !== -1) {
          if (count >= 2 && !(skipAdjacent && runEnd === pos)) return runEnd
          runEnd = -1
          count = 0
          laterLF = false
        }
        if (lastLF > i) lastLF = chunk.lastIndexOf(LF, i)
        if (lastCR > i) lastCR = chunk.lastIndexOf(CR, i)
        const j = Math.max(lastLF, lastCR)
        i = j < low ? low - 1 : j
      }
      p = at + i
      if (p < lower || ci === this.head) break
      at -= (this.chunks[--ci] as Uint8Array).length
    }
    if (this.truncated) return runEnd !== -1 && count >= 2 && !(skipAdjacent && runEnd === pos) ? runEnd : -1
    // reached the floor (an event start): terminators from there on only end empty lines
    return runEnd !== -1 && !(skipAdjacent && runEnd === pos) ? runEnd : lower
  }
}

/** an SSE event's data as JSON; undefined for no data, `[DONE]` or anything that does not parse */
export const parseData = (message: SseMessage): unknown => {
  const data = message.data
  if (data === "" || data === "[DONE]") return undefined
  try {
    return JSON.parse(data)
  } catch {
    return undefined
  }
}

/** at most this many events are walked back over at the end (terminal ones, `[DONE]`, comments) */
const TAIL_EVENTS = 16
/** `event:` */
const EVENT_FIELD = [0x65, 0x76, 0x65, 0x6e, 0x74, 0x3a]
/** how far into an event its name is looked for before the parser is asked */
const PEEK_BYTES = 128
// as the parser decodes names: a U+FEFF inside one is kept
const nameDecoder = new TextDecoder("utf-8", { ignoreBOM: true })

/** What the end of a stream held: the JSON of its last events in stream order, or why they are lost. */
export interface TailEnd {
  readonly events: Array<unknown>
  readonly lost?: string
}

/**
 * The `event:` name on the first line of the event at `from`, when that line is short and plainly an `event:`
 * field (no BOM, no comment first); undefined otherwise, and the parser decides. Lets the walk turn down a
 * large non-terminal event (an `output_item.done` repeating the whole answer) without scanning or copying it.
 */
const peekName = (window: TailWindow, from: number, to: number): string | undefined => {
  const head = window.slices(from, Math.min(to, from + PEEK_BYTES))
  let bytes = head[0] ?? new Uint8Array(0)
  if (head.length > 1) {
    bytes = new Uint8Array(head.reduce((n, slice) => n + slice.length, 0))
    let at = 0
    for (const slice of head) {
      bytes.set(slice, at)
      at += slice.length
    }
  }
  for (let i = 0; i < EVENT_FIELD.length; i++) if (bytes[i] !== EVENT_FIELD[i]) return undefined
  let end = EVENT_FIELD.length
  while (end < bytes.length && bytes[end] !== LF && bytes[end] !== CR) end++
  if (end === bytes.length) return undefined
  const start = bytes[EVENT_FIELD.length] === 0x20 ? EVENT_FIELD.length + 1 : EVENT_FIELD.length
  return nameDecoder.decode(bytes.subarray(Math.min(start, end), end))
}

/**
 * One event `[from, to)`: the JSON it carries when it may belong to the end of the stream (a terminal event,
 * or one without a type such as `[DONE]`, a comment, a keepalive without data), or undefined for any other
 * event: the end of the stream lies after it.
 */
const tailEvent = (
  window: TailWindow,
  from: number,
  to: number,
  wants: (type: string) => boolean,
  options: SseParserOptions,
): Array<unknown> | undefined => {
  const name = peekName(window, from, to)
  if (name !== undefined && !wants(name)) return undefined
  let declined = false
  const parser = new SseParser({
    ...options,
    streamStart: from === 0,
    decodeData: (event) => {
      if (wants(event)) return true
      declined = true
      return false
    },
  })
  const messages: Array<SseMessage> = []
  for (const slice of window.slices(from, to)) for (const message of parser.push(slice)) messages.push(message)
  for (const message of parser.end()) messages.push(message)
  if (declined) return undefined
  const out: Array<unknown> = []
  for (const message of messages) {
    const json = parseData(message)
    const type = field(json, "type")
    if (typeof type !== "string") continue
    if (!(type in TERMINAL) && type !== "codex.rate_limits") return undefined
    out.push(json)
  }
  return out
}

/**
 * End of stream in tail mode: walks back over the last events while they are terminal (or carry nothing)
 * and returns them in stream order, so the first terminal event wins as it would going forward.
 * `complete`: the stream closed normally, so a last event without its blank line still counts (as the
 * parser's `end()` would); after an error or a cancel only events ended by a blank line count.
 */
export const readTail = (
  window: TailWindow,
  complete: boolean,
  wants: (type: string) => boolean,
  options: SseParserOptions,
): TailEnd => {
  if (!window.intact())
    return { events: [], lost: "stream closed before response.completed (kept bytes were detached)" }
  const lower = window.lower
  let pos = complete ? window.end : window.boundaryBefore(window.end, false)
  const found: Array<Array<unknown>> = []
  while (pos > lower && found.length < TAIL_EVENTS) {
    const from = window.boundaryBefore(pos, true)
    if (from === -1) {
      if (found.length === 0) {
        const lost = `stream closed before response.completed (its last event exceeds the ${window.cap} bytes kept)`
        return { events: [], lost }
      }
      break
    }
    const jsons = tailEvent(window, from, pos, wants, options)
    if (jsons === undefined) break
    found.push(jsons)
    pos = from
  }
  const events: Array<unknown> = []
  for (let i = found.length - 1; i >= 0; i--) for (const json of found[i] as Array<unknown>) events.push(json)
  return { events }
}
