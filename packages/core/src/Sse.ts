/**
 * Server-sent events: an incremental, byte-level parser and an encoder.
 *
 * The parser splits on line-terminator BYTES (CR, LF, CRLF) before decoding, so a chunk boundary inside a
 * multi-byte UTF-8 character can never corrupt text: a line is only decoded once it is complete. Memory is
 * bounded: an event whose buffered size passes `maxEventBytes` is dropped (reported through `onError`) and
 * the parser skips to the next blank line instead of growing without limit.
 */
import { Schema } from "effect"
import { decodeValue, EventNames, isEvent, valueFrom } from "./internal/sse-fields.ts"

export interface SseMessage {
  readonly event?: string
  readonly data: string
  readonly id?: string
}

/** One event grew past the parser's limit; its bytes were discarded. */
export class SseEventTooLarge extends Schema.TaggedError<SseEventTooLarge>()("SseEventTooLarge", {
  limit: Schema.Number,
  message: Schema.String,
}) {}

export interface SseParserOptions {
  /** default 64 MiB */
  readonly maxEventBytes?: number
  readonly onError?: (error: SseEventTooLarge) => void
  /**
   * Called with the `event:` name (when the event has one before its data) to decide whether its `data:`
   * lines are worth decoding; events it declines are not emitted at all. Lets an observer that only cares
   * about a few event types avoid decoding every delta.
   */
  readonly decodeData?: (event: string) => boolean
  /**
   * Whether the first pushed byte is the start of the stream (default true): only there is a UTF-8 BOM
   * dropped. False for a parser resumed at an event boundary in the middle of a stream.
   */
  readonly streamStart?: boolean
}

export const DEFAULT_MAX_EVENT_BYTES = 64 * 1024 * 1024

const LF = 0x0a
const CR = 0x0d
const COLON = 0x3a

/** Shared encoder: `TextEncoder` is stateless, so one instance serves every caller. */
export const textEncoder = new TextEncoder()

const EMPTY = new Uint8Array(0)
const BOM = [0xef, 0xbb, 0xbf]

export class SseParser {
  private readonly limit: number
  private readonly onError: ((error: SseEventTooLarge) => void) | undefined
  private readonly decodeData: ((event: string) => boolean) | undefined
  /** the event names this parser has met, matched by their bytes */
  private readonly names = new EventNames()
  /** pieces of the current, not yet terminated line */
  private pending: Array<Uint8Array> = []
  private pendingBytes = 0
  private afterCR = false
  private firstLine = true
  // current event
  private event: string | undefined = undefined
  private id: string | undefined = undefined
  private data: Array<string> = []
  private hasData = false
  private skipData = false
  private eventBytes = 0
  private overflow = false
  /** in overflow mode: the current line had bytes that were not kept */
  private lineDirty = false
  /** number of events dropped for size */
  overflowCount = 0
  /** bytes pushed before the current chunk */
  private consumed = 0
  private dispatched = false
  /**
   * Offset (in bytes pushed so far) where the event being read began: just past the last blank line. Lets an
   * observer resume elsewhere at a point where this parser holds nothing.
   */
  eventStart = 0

  constructor(options: SseParserOptions = {}) {
    this.limit = options.maxEventBytes ?? DEFAULT_MAX_EVENT_BYTES
    this.onError = options.onError
    this.decodeData = options.decodeData
    if (options.streamStart === false) this.firstLine = false
  }

  push(chunk: Uint8Array): Array<SseMessage> {
    const out: Array<SseMessage> = []
    this.run(chunk, out, undefined)
    return out
  }

  /**
   * Like `push`, but hands each message to `take` as soon as its event ends and stops at the first one
   * `take` answers true for. Returns the offset in `chunk` just past the blank line that ended that event,
   * or -1 when the whole chunk was read. After a stop the rest of the chunk was not read: the parser must
   * not be pushed to again.
   */
  pushUntil(chunk: Uint8Array, take: (message: SseMessage) => boolean): number {
    return this.run(chunk, [], take)
  }

  private run(chunk: Uint8Array, out: Array<SseMessage>, take: ((message: SseMessage) => boolean) | undefined): number {
    const n = chunk.length
    let pos = 0
    if (n === 0) return -1
    const base = this.consumed
    this.consumed = base + n
    if (this.afterCR) {
      this.afterCR = false
      if (chunk[0] === LF) pos = 1
    }
    // Both positions are cached and only searched again once passed, so CR-only or LF-only input stays linear.
    let nextCR = chunk.indexOf(CR, pos)
    let nextLF = chunk.indexOf(LF, pos)
    while (pos < n) {
      if (nextCR !== -1 && nextCR < pos) nextCR = chunk.indexOf(CR, pos)
      if (nextLF !== -1 && nextLF < pos) nextLF = chunk.indexOf(LF, pos)
      if (nextLF === -1 && nextCR === -1) {
        this.keep(chunk.subarray(pos))
        return -1
      }
      const isCR = nextCR !== -1 && (nextLF === -1 || nextCR < nextLF)
      const end = isCR ? nextCR : nextLF
      if (this.pendingBytes === 0) this.line(chunk, pos, end, out)
      else {
        const joined = this.join(chunk.subarray(pos, end))
        this.line(joined, 0, joined.length, out)
      }
      pos = end + 1
      if (isCR) {
        if (pos === n) this.afterCR = true
        else if (chunk[pos] === LF) pos++
      }
      if (this.dispatched) {
        this.dispatched = false
        this.eventStart = base + pos
        if (take !== undefined && out.length > 0) {
          for (const message of out) if (take(message)) return pos
          out.length = 0
        }
      }
    }
    return -1
  }

  /** End of stream: the last line and event count even without their terminators. */
  end(): Array<SseMessage> {
    const out: Array<SseMessage> = []
    if (this.pendingBytes > 0 || this.lineDirty) {
      const joined = this.join(EMPTY)
      this.line(joined, 0, joined.length, out)
    }
    this.dispatch(out)
    this.afterCR = false
    return out
  }

  private keep(bytes: Uint8Array): void {
    if (bytes.length === 0) return
    if (this.overflow) {
      this.lineDirty = true
      return
    }
    if (this.eventBytes + this.pendingBytes + bytes.length > this.limit && !this.partialBom(bytes)) {
      this.startOverflow()
      this.lineDirty = true
      return
    }
    // copy: the caller may reuse its buffer
    this.pending.push(bytes.slice())
    this.pendingBytes += bytes.length
  }

  /**
   * Whether what the first line holds so far, with `bytes`, is only (the start of) the stream's BOM: the
   * complete line decides then, as an unsplit line does (a BOM-only first line is an empty line)
   */
  private partialBom(bytes: Uint8Array): boolean {
    if (!this.firstLine || this.pendingBytes + bytes.length > 3) return false
    let at = 0
    for (const piece of [...this.pending, bytes]) {
      for (const byte of piece) if (byte !== BOM[at++]) return false
    }
    return true
  }

  private join(tail: Uint8Array): Uint8Array {
    const pieces = this.pending
    if (pieces.length === 0) return tail
    const total = this.pendingBytes + tail.length
    const all = new Uint8Array(total)
    let offset = 0
    for (const piece of pieces) {
      all.set(piece, offset)
      offset += piece.length
    }
    all.set(tail, offset)
    this.pending = []
    this.pendingBytes = 0
    return all
  }

  private startOverflow(): void {
    this.overflow = true
    this.lineDirty = this.pendingBytes > 0
    this.pending = []
    this.pendingBytes = 0
    if (this.data.length > 0) this.data = []
    this.hasData = false
  }

  /** one complete line: `buf[from, to)`; works on indices because a subarray per line costs more than parsing */
  private line(buf: Uint8Array, from: number, to: number, out: Array<SseMessage>): void {
    let start = from
    if (this.firstLine) {
      this.firstLine = false
      if (to - from >= 3 && buf[from] === 0xef && buf[from + 1] === 0xbb && buf[from + 2] === 0xbf) start += 3
    }
    const len = to - start
    if (this.overflow) {
      // skip to the blank line that ends the oversized event
      if (len === 0 && !this.lineDirty) this.dispatch(out)
      this.lineDirty = false
      return
    }
    if (len === 0) {
      this.dispatch(out)
      return
    }
    // counted on the raw line (comments too) so the limit trips the same however the input was chunked
    this.eventBytes += to - from
    if (this.eventBytes > this.limit) {
      this.startOverflow()
      return
    }
    const b0 = buf[start]
    if (b0 === COLON) return
    if (b0 === 0x64 && len >= 4 && buf[start + 1] === 0x61 && buf[start + 2] === 0x74 && buf[start + 3] === 0x61) {
      if (len === 4 || buf[start + 4] === COLON) {
        this.hasData = true
        if (this.skipData) return
        this.data.push(decodeValue(buf, start + 5, to))
        return
      }
    } else if (b0 === 0x65 && len >= 5 && isEvent(buf, start) && (len === 5 || buf[start + 5] === COLON)) {
      const name = this.names.name(buf, valueFrom(buf, start + 6, to), to)
      this.event = name
      if (this.decodeData !== undefined && !this.hasData) this.skipData = !this.decodeData(name)
      return
    }
    let colon = buf.indexOf(COLON, start)
    if (colon === -1 || colon >= to) colon = to
    if (colon - start === 2 && b0 === 0x69 && buf[start + 1] === 0x64) {
      const id = decodeValue(buf, colon + 1, to)
      if (!id.includes("\0")) this.id = id
    }
    // `retry:` and unknown fields are ignored
  }

  private dispatch(out: Array<SseMessage>): void {
    this.dispatched = true
    if (this.overflow) {
      this.overflow = false
      this.overflowCount++
      if (this.onError !== undefined) {
        const error = new SseEventTooLarge({
          limit: this.limit,
          message: `SSE event larger than ${this.limit} bytes was dropped`,
        })
        try {
          this.onError(error)
        } catch {
          // a faulty callback must not break parsing
        }
      }
    } else if (this.hasData && !this.skipData) {
      const data = this.data.length === 1 ? (this.data[0] as string) : this.data.join("\n")
      const message: { event?: string; data: string; id?: string } = { data }
      if (this.event !== undefined) message.event = this.event
      if (this.id !== undefined) message.id = this.id
      out.push(message)
    }
    this.event = undefined
    this.id = undefined
    if (this.data.length > 0) this.data = []
    this.hasData = false
    this.skipData = false
    this.eventBytes = 0
  }
}

const LINE_BREAK = /\r\n|\r|\n/

/**
 * `event: <e>\ndata: <d>\n\n`. Line breaks inside `data` become separate `data:` lines (they parse back as
 * "\n"); line breaks in the event name are removed, so neither can inject fields.
 */
export const encodeSse = (event: string, data: string): Uint8Array => {
  const name = event.includes("\n") || event.includes("\r") ? event.replace(/[\r\n]/g, "") : event
  if (!data.includes("\n") && !data.includes("\r")) return textEncoder.encode(`event: ${name}\ndata: ${data}\n\n`)
  return textEncoder.encode(`event: ${name}\ndata: ${data.split(LINE_BREAK).join("\ndata: ")}\n\n`)
}
