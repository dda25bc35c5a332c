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
import type { PairedPrefix } from "./input-rules.ts"
import { withoutMember } from "./json-layout.ts"

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
  freezeTree(value)
}

/**
 * Freezes a tree `JSON.parse` just made: nothing in it is shared or frozen yet, so nothing is asked first.
 * (Freezing is most of what a cold body costs beyond the parse; `isFrozen` on every node was a third of it.)
 */
export const freezeParsed = (value: unknown): void => {
  if (typeof value === "object" && value !== null) freezeTree(value)
}

const freezeTree = (value: object): void => {
  Object.freeze(value)
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const child = value[i]
      if (typeof child === "object" && child !== null) freezeTree(child)
    }
  } else {
    for (const key in value) {
      const child = (value as Record<string, unknown>)[key]
      if (typeof child === "object" && child !== null) freezeTree(child)
    }
  }
}

/** Whether `text` has no `\\u` or `\\/` escape and no lone surrogate (`JSON.stringify` writes none of them). */
const isPlain = (text: string): boolean => !text.includes("\\u") && !text.includes("\\/") && text.isWellFormed()

const isContainer = (value: unknown): value is object => typeof value === "object" && value !== null

export class HostInput {
  /** the wire array written from these items last; a second preparation of the same request reuses it whole */
  latest: WireArray | undefined = undefined
  /**
   * the pairing of tool calls after these items (or the first of them that an earlier body lent), which the
   * rewrite goes on from (see `PairedPrefix`)
   */
  paired: PairedPrefix | undefined = undefined
  private index: Map<unknown, number> | undefined = undefined
  /**
   * wire forms that are items without their `id` (see `withoutId`), at their item's index, and their texts
   * cut from the items' texts: arrays, not a map, as the rewrite visits items in order (found by `cursor`)
   */
  private cutWires: Array<unknown> | undefined = undefined
  private cutTexts: Array<string> | undefined = undefined
  private cutIndex: Map<unknown, number> | undefined = undefined
  /** where the next item looked up is expected: after the last one found (the lent ones are not looked up) */
  private cursor: number
  /** whether the whole source is free of what `ownText` refuses (only asked of a body with no lent items) */
  private clean: boolean | undefined = undefined

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
    /**
     * the array the turn this body extends sent, if it was prepared; dropped once this body's own array is
     * written (`latest` then holds everything worth reusing, and a megabyte less stays alive)
     */
    public previous: WireArray | undefined,
  ) {
    this.cursor = reused
  }

  /**
   * The host's own text of `item` when it is one of these items and that text is exactly what
   * `JSON.stringify` writes for it; otherwise undefined. Only items a previous turn did not write are looked
   * up (those it wrote come from its array text).
   */
  hostText(item: unknown): string | undefined {
    if (!isContainer(item)) return undefined
    const wires = this.cutWires
    // the rewrite keeps the host's order: the next few places after the last item found are tried first
    const near = Math.min(this.items.length, this.cursor + 4)
    for (let i = this.cursor; i < near; i++) {
      if (this.items[i] === item) {
        this.cursor = i + 1
        return this.ownText(i)
      }
      if (wires !== undefined && wires[i] === item) {
        this.cursor = i + 1
        return this.cutTexts?.[i]
      }
    }
    if (wires !== undefined) {
      const cut = this.cutAt(item, wires)
      if (cut >= 0) return this.cutTexts?.[cut]
    }
    const at = this.indexOf(item)
    return at < 0 ? undefined : this.ownText(at)
  }

  /**
   * Records the text of `wire`, which is item `at` with its `id` member left out and every other member the
   * very same value (the rewrite checked): the item's own text without that member. Serialising such a copy
   * again was most of a cold body's cost (the values it shares with the frozen item are frozen, and JSC
   * writes frozen arrays slowly). `wire` is frozen here, so the text stays its own.
   */
  withoutId(at: number, wire: Record<string, unknown>): void {
    const text = this.ownText(at)
    const cut = text === undefined ? undefined : withoutMember(text, "id")
    if (cut === undefined) return
    Object.freeze(wire)
    this.cutWires ??= new Array(this.items.length)
    this.cutTexts ??= new Array(this.items.length)
    this.cutWires[at] = wire
    this.cutTexts[at] = cut
    this.cutIndex = undefined
  }

  /** Where `wire` is among the cut wire forms, or -1 (found off the cursor: looked up in a map made on need). */
  private cutAt(wire: object, wires: Array<unknown>): number {
    if (this.cutIndex === undefined) {
      this.cutIndex = new Map()
      for (let i = 0; i < wires.length; i++) if (wires[i] !== undefined) this.cutIndex.set(wires[i], i)
    }
    const at = this.cutIndex.get(wire) ?? -1
    if (at >= 0) this.cursor = at + 1
    return at
  }

  /** The host's text of item `at` when it is exactly what `JSON.stringify` writes for the item. */
  private ownText(at: number): string | undefined {
    if (at < this.reused || this.tight[at] !== true) return undefined
    const text = this.source.slice(this.starts[at] as number, this.ends[at] as number)
    // `JSON.stringify` writes neither escape nor a lone surrogate: an item using them is serialised again to
    // keep its bytes. A body none of whose items came from an earlier one is checked once, whole, instead of
    // item by item (each native scan over a 100 KB body costs about what one over a single item does); an
    // item's text starts and ends at a brace or bracket, so it cannot cut a surrogate pair of a well-formed
    // body in two.
    this.clean ??= this.reused === 0 && isPlain(this.source)
    return this.clean || isPlain(text) ? text : undefined
  }

  /** Where `item` is among these items, or -1, when it is not near the cursor: a map made on first need. */
  private indexOf(item: object): number {
    if (this.index === undefined) {
      this.index = new Map()
      for (let i = this.reused; i < this.items.length; i++) {
        const own = this.items[i]
        if (isContainer(own)) this.index.set(own, i)
      }
    }
    const at = this.index.get(item) ?? -1
    if (at >= 0) this.cursor = at + 1
    return at
  }
}
