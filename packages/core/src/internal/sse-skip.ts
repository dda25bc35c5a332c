/**
 * The SSE observer's skip mode: once a response has shown its id and first output, only a handful of event
 * types still matter (terminal events, `error`, `codex.rate_limits`), and every one of them carries its type
 * as a JSON string in its data. So instead of splitting the stream into lines, each chunk is searched for
 * a few byte markers with native `indexOf`; only when one turns up is the event around it located (back to
 * the blank line before it) and handed to the full parser.
 *
 * Known blind spot, by design: a type spelled with JSON escapes (`"\u0065rror"`) carries no marker. No
 * server writes type names that way.
 */

const encoder = new TextEncoder()

/**
 * Every type that matters after the first output, as a JSON string, contains one of these: `"error"`,
 * `"response.completed"` / `"response.incomplete"` (complete), `"response.failed"`, `"response.done"`,
 * `"codex.rate_limits"`. A marker inside delta text is a false positive and costs one event parse.
 */
export const MARKERS: ReadonlyArray<Uint8Array> = [
  "complete",
  'failed"',
  'error"',
  'response.done"',
  'rate_limits"',
].map((m) => encoder.encode(m))

const MAX_MARKER = Math.max(...MARKERS.map((m) => m.length))
const TAIL = MAX_MARKER - 1

/** first byte -> bit set of the markers starting with it (for the few bytes straddling two chunks) */
const FIRST = new Uint8Array(256)
for (const [i, m] of MARKERS.entries()) FIRST[m[0] as number] = (FIRST[m[0] as number] as number) | (1 << i)

// Buffer's multi-byte search is native and accepts any Uint8Array as `this`.
const indexOfBytes = Buffer.prototype.indexOf as (this: Uint8Array, needle: Uint8Array, from: number) => number

/**
 * Streaming marker search: feed consecutive chunks; finds markers inside a chunk and across chunk
 * boundaries (it keeps the last few bytes of the stream).
 */
export class MarkerScanner {
  private readonly tail = new Uint8Array(TAIL)
  private tailLength = 0

  /**
   * First marker starting at or after `from` (absolute) that ends inside `chunk` (which starts at absolute
   * offset `at`), or -1. Only a miss moves the scanner past `chunk`: after a hit the caller stops feeding it.
   */
  feed(chunk: Uint8Array, at: number, from: number): number {
    const tail = this.tail
    const tailLength = this.tailLength
    const tailAt = at - tailLength
    for (let i = from > tailAt ? from - tailAt : 0; i < tailLength; i++) {
      const mask = FIRST[tail[i] as number] as number
      if (mask !== 0 && straddles(tail, i, tailLength, chunk, mask)) return tailAt + i
    }
    const local = from > at ? from - at : 0
    let best = -1
    for (let k = 0; k < MARKERS.length; k++) {
      const found = indexOfBytes.call(chunk, MARKERS[k] as Uint8Array, local)
      if (found !== -1 && (best === -1 || found < best)) best = found
    }
    if (best !== -1) return at + best
    // keep the stream's last TAIL bytes
    const n = chunk.length
    if (n >= TAIL) {
      tail.set(chunk.subarray(n - TAIL))
      this.tailLength = TAIL
    } else {
      const keep = Math.min(tailLength, TAIL - n)
      tail.copyWithin(0, tailLength - keep, tailLength)
      tail.set(chunk, keep)
      this.tailLength = keep + n
    }
    return -1
  }
}

const straddles = (tail: Uint8Array, i: number, tailLength: number, chunk: Uint8Array, mask: number): boolean => {
  for (let k = 0; k < MARKERS.length; k++) {
    if ((mask & (1 << k)) === 0) continue
    const marker = MARKERS[k] as Uint8Array
    const m = marker.length
    // only markers that end inside this chunk (shorter ones lying wholly in the tail were found before)
    if (tailLength - i >= m || tailLength - i + chunk.length < m) continue
    let j = 1
    for (; j < m; j++) {
      const p = i + j
      const b = p < tailLength ? tail[p] : chunk[p - tailLength]
      if (b !== marker[j]) break
    }
    if (j === m) return true
  }
  return false
}

const LF = 0x0a
const CR = 0x0d

/**
 * The last chunks seen, by reference, at most about `limit` bytes: enough to step back from a marker to the
 * start of its event. Chunk objects are shared with the consumer, never copied or written.
 */
export class ChunkWindow {
  private chunks: Array<Uint8Array> = []
  private starts: Array<number> = []
  private bytes = 0
  end = 0

  constructor(private readonly limit: number) {}

  get start(): number {
    return this.starts.length === 0 ? this.end : (this.starts[0] as number)
  }

  add(chunk: Uint8Array): void {
    this.chunks.push(chunk)
    this.starts.push(this.end)
    this.end += chunk.length
    this.bytes += chunk.length
    while (this.chunks.length > 1 && this.bytes - (this.chunks[0] as Uint8Array).length >= this.limit) {
      this.bytes -= (this.chunks.shift() as Uint8Array).length
      this.starts.shift()
    }
  }

  /** views of the bytes `[from, end)`, in order */
  slices(from: number): Array<Uint8Array> {
    const out: Array<Uint8Array> = []
    for (let i = 0; i < this.chunks.length; i++) {
      const chunk = this.chunks[i] as Uint8Array
      const at = this.starts[i] as number
      if (at + chunk.length <= from) continue
      out.push(from > at ? chunk.subarray(from - at) : chunk)
    }
    return out
  }

  /** chunk index holding absolute offset `pos`, or -1 */
  private indexOf(pos: number): number {
    for (let i = this.chunks.length - 1; i >= 0; i--) if ((this.starts[i] as number) <= pos) return i
    return -1
  }

  /**
   * Where the event holding offset `pos` begins: just past the last blank line (a run of line terminators
   * holding at least two, CRLF counting as one) before `pos`, or `floor` (a known event boundary) if none
   * lies between. -1 when the window no longer reaches back that far.
   */
  eventStart(pos: number, floor: number): number {
    let ci = this.indexOf(pos - 1)
    if (ci === -1) return pos <= floor ? floor : -1
    // walking backwards: the run of terminators seen so far, as bytes from newest to oldest
    let runEnd = -1
    let run: Array<number> = []
    let p = pos - 1
    while (p >= floor) {
      if (ci === -1) return -1
      const at = this.starts[ci] as number
      const chunk = this.chunks[ci] as Uint8Array
      const low = floor > at ? floor - at : 0
      for (let i = p - at; i >= low; i--, p--) {
        const b = chunk[i] as number
        if (b === LF || b === CR) {
          if (runEnd === -1) runEnd = p + 1
          run.push(b)
          continue
        }
        if (runEnd !== -1) {
          if (terminators(run) >= 2) return runEnd
          runEnd = -1
          run = []
        }
      }
      ci--
    }
    // reached the floor (a line start): any terminators in between end empty lines themselves
    return runEnd !== -1 ? runEnd : floor
  }
}

/** number of line terminators in a run given newest-first; CRLF counts once */
const terminators = (newestFirst: ReadonlyArray<number>): number => {
  let count = 0
  for (let i = newestFirst.length - 1; i >= 0; i--) {
    if (newestFirst[i] === CR && i > 0 && newestFirst[i - 1] === LF) i--
    count++
  }
  return count
}
