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
