/**
 * The `input` items of a host body the body memo parsed, carried with the text they came in. Everything the
 * rewrite may reuse instead of serialising again lives in this value, and only for items that can no longer
 * change: the items are deeply frozen here, so the text recorded for an item is the text of that item for as
 * long as the item exists. A rule that wants a different item makes a new one (copy on write); an attempt to
 * edit one in place throws instead of sending stale bytes.
 *
 * Two texts are reused:
 * - the host's own text of an item, when written exactly as `JSON.stringify` writes it (a slice of the body
 *   text this request came in, which is alive anyway);
 * - the wire text of the array the previous turn sent (`previous`), for the longest prefix of items that are
 *   the very same objects as that turn's.
 */

/** The `input` array of a serialised wire body, kept so the next turn can slice its prefix. */
export interface WireArray {
  /** the wire items in order (frozen or primitive: their text cannot change) */
  readonly items: ReadonlyArray<unknown>
  /**
   * the whole body text the array was written in: the runtime flattens that string when it writes it out,
   * so the next turn's slice of it is a view, not a copy of a megabyte of text
   */
  readonly source: string
  /** where the array's `[` is in `source` */
  readonly start: number
  /** offset just after each item's text, counted from `start` */
  readonly ends: ReadonlyArray<number>
}

/** Freezes `value` and everything reachable from it (JSON values only: objects, arrays, primitives). */
export const deepFreeze = (value: unknown): void => {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return
  Object.freeze(value)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) deepFreeze(value[i])
  } else {
    for (const key in value) deepFreeze((value as Record<string, unknown>)[key])
  }
}

const isContainer = (value: unknown): value is object => typeof value === "object" && value !== null

export class HostInput {
  /** the wire array written from these items last; a second preparation of the same request reuses it whole */
  latest: WireArray | undefined = undefined
  private index: Map<unknown, number> | undefined = undefined

  constructor(
    /** the host's items, deeply frozen (the array is the memo's own: the body's is a copy) */
    readonly items: ReadonlyArray<unknown>,
    /** the body text they were parsed from */
    private readonly source: string,
    private readonly starts: ReadonlyArray<number>,
    private readonly ends: ReadonlyArray<number>,
    /** per item: written without whitespace or numbers (its text may equal `JSON.stringify`'s) */
    private readonly tight: ReadonlyArray<boolean>,
    /** how many leading items came from an earlier body (the previous turn wrote those already) */
    readonly reused: number,
    /**
     * per item: the rewrite's wire form of it (`null`: dropped), computed once and handed on to later turns
     * that reuse the item. The rewrite's per-item rule depends on the item alone, and both are frozen.
     */
    readonly wireForms: Array<unknown>,
    /** the array the turn this body extends sent, if it was prepared */
    readonly previous: WireArray | undefined,
  ) {}

  /**
   * The host's own text of `item` when it is one of these items and that text is exactly what
   * `JSON.stringify` writes for it; otherwise undefined. Only items a previous turn did not write are looked
   * up (those it wrote come from its array text).
   */
  hostText(item: unknown): string | undefined {
    if (!isContainer(item)) return undefined
    if (this.index === undefined) {
      this.index = new Map()
      for (let i = this.reused; i < this.items.length; i++) {
        const own = this.items[i]
        if (this.tight[i] === true && isContainer(own)) this.index.set(own, i)
      }
    }
    const at = this.index.get(item)
    if (at === undefined) return undefined
    const text = this.source.slice(this.starts[at] as number, this.ends[at] as number)
    // `JSON.stringify` writes neither escape: an item using them is serialised again to keep its bytes
    return text.includes("\\u") || text.includes("\\/") || !text.isWellFormed() ? undefined : text
  }
}
