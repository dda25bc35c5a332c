/**
 * Field-level byte helpers of the SSE parser (`Sse.ts`): where a field's value starts, decoding it, and the
 * table of event names a parser has met. Everything here works on a complete line's bytes `[from, to)`.
 */

const SPACE = 0x20

// ignoreBOM keeps a U+FEFF that is part of a value; only the stream-start BOM is stripped (by the parser).
// `decode` without `stream` keeps no state between calls, so one instance serves every parser.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true })

/** `afterColon` past one optional leading space, clamped to the line end */
export const valueFrom = (buf: Uint8Array, afterColon: number, to: number): number =>
  afterColon >= to ? to : buf[afterColon] === SPACE ? afterColon + 1 : afterColon

/** a field value starting right after its colon (one leading space dropped) */
export const decodeValue = (buf: Uint8Array, afterColon: number, to: number): string => {
  const from = valueFrom(buf, afterColon, to)
  return from >= to ? "" : decoder.decode(buf.subarray(from, to))
}

/** whether the bytes at `s` (whose first byte is `e`) continue as `event` */
export const isEvent = (b: Uint8Array, s: number): boolean =>
  b[s + 1] === 0x76 && b[s + 2] === 0x65 && b[s + 3] === 0x6e && b[s + 4] === 0x74

interface KnownName {
  readonly bytes: Uint8Array
  readonly name: string
}

/** a Codex stream uses about twenty names; more than this and the oldest slots are reused in turn */
const MAX_NAMES = 48
/** longer names are decoded every time instead of remembered */
const MAX_NAME_BYTES = 64

/**
 * Event names repeat all stream long: they are matched by their bytes instead of decoded again. One table per
 * parser, so nothing is shared between streams (a stream's first use of a name costs one decode).
 */
export class EventNames {
  private readonly known: Array<KnownName> = []
  private next = 0

  name(buf: Uint8Array, from: number, to: number): string {
    const len = to - from
    const known = this.known
    for (let i = 0; i < known.length; i++) {
      const kb = (known[i] as KnownName).bytes
      if (kb.length !== len) continue
      let j = 0
      while (j < len && kb[j] === buf[from + j]) j++
      if (j === len) return (known[i] as KnownName).name
    }
    const name = from >= to ? "" : decoder.decode(buf.subarray(from, to))
    if (len <= MAX_NAME_BYTES) {
      // once full, slots are reused in turn, so names a stream stops using make room again
      const entry = { bytes: buf.slice(from, to), name }
      if (known.length < MAX_NAMES) known.push(entry)
      else known[this.next++ % MAX_NAMES] = entry
    }
    return name
  }
}
