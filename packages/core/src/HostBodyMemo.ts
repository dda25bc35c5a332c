/**
 * Parses host request bodies incrementally. OpenCode sends the whole conversation on every turn, so a
 * long session's 1 MB body is the previous turn's body plus a few new items. The memo keeps the last few
 * bodies' text, parsed `input` items and item offsets; a new body that shares a prefix with one of them
 * reuses the items lying wholly inside that prefix and parses only the rest. It also records the text of
 * each new item written as `JSON.stringify` writes it (no whitespace, no numbers, no `\u` or `\/` escapes),
 * so the rewrite can put an item it left untouched back on the wire without serialising it again: the
 * bytes are the same either way, which keeps them stable when the memo is cold or the body is small.
 *
 * Correctness rests on two facts: identical text parses to identical values, and the rewrite is idempotent
 * (reused items were already rewritten once and come out of a second pass unchanged). Anything unusual
 * (no `input` array, escaped or repeated keys, malformed text) falls back to a plain `JSON.parse`.
 */
import { rememberItem } from "./internal/item-text.ts"
import { commonPrefixLength, inputLayout, restHasNoInputKey, scanItems } from "./internal/json-layout.ts"

/** Bodies smaller than this parse and serialise faster than the bookkeeping would save. */
const MIN_BYTES = 16_384

interface Entry {
  readonly text: string
  /** the parsed host items, index-aligned with `starts`/`ends` (rewritten in place since, idempotently) */
  readonly items: ReadonlyArray<unknown>
  readonly open: number
  readonly starts: ReadonlyArray<number>
  readonly ends: ReadonlyArray<number>
}

export interface HostBodyMemoOptions {
  /** how many recent bodies to keep (concurrent sessions each need one); default 8 */
  readonly entries?: number
  /** cap on the text the memo holds, in UTF-16 code units; default 32 Mi */
  readonly maxChars?: number
}

type Json = Record<string, unknown>

const lendsAllButLast = (entry: Entry, prefix: number): boolean =>
  entry.ends.length < 2 || (entry.ends[entry.ends.length - 2] as number) <= prefix

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

export class HostBodyMemo {
  private readonly recent: Array<Entry> = []
  private readonly maxEntries: number
  private readonly maxChars: number
  /** how many parses reused earlier items: for tests and the bench's notes */
  hits = 0

  constructor(options: HostBodyMemoOptions = {}) {
    this.maxEntries = options.entries ?? 8
    this.maxChars = options.maxChars ?? 32 * 1024 * 1024
  }

  /** `JSON.parse(text)`, reusing what an earlier body shares with this one. Throws what `JSON.parse` throws. */
  parse(text: string): unknown {
    if (text.length < MIN_BYTES) return JSON.parse(text)
    const best = this.closest(text)
    if (best !== undefined) {
      const extended = this.extend(best.entry, best.prefix, text)
      if (extended !== undefined) {
        this.hits++
        return extended
      }
    }
    const body: unknown = JSON.parse(text)
    if (isObject(body) && Array.isArray(body.input)) {
      const layout = inputLayout(text)
      if (layout !== undefined && layout.starts.length === body.input.length) {
        this.remember(text, body.input, layout.open, layout.starts, layout.ends, layout.tight, 0)
      }
    }
    return body
  }

  /** Drops every remembered body. */
  clear(): void {
    this.recent.length = 0
  }

  private closest(text: string): { entry: Entry; prefix: number } | undefined {
    let best: { entry: Entry; prefix: number } | undefined
    for (const entry of this.recent) {
      // a body that does not even share the opening of `input` cannot lend any item
      if (text.charCodeAt(entry.open) !== 91 || text.slice(0, entry.open) !== entry.text.slice(0, entry.open)) continue
      const prefix = commonPrefixLength(entry.text, text)
      if (best === undefined || prefix > best.prefix) best = { entry, prefix }
      // the usual case, checked most recent first: the body continues this one, or replaces only its last item
      if (lendsAllButLast(entry, prefix)) break
    }
    return best
  }

  /** The body parsed from the items `entry` lends plus the parsed rest; undefined when that is not safe. */
  private extend(entry: Entry, prefix: number, text: string): Json | undefined {
    const { ends } = entry
    let reused = 0
    while (reused < ends.length && (ends[reused] as number) <= prefix) reused++
    if (reused === 0) return undefined
    const cut = ends[reused - 1] as number
    const starts: Array<number> = entry.starts.slice(0, reused)
    const itemEnds: Array<number> = ends.slice(0, reused)
    const tight: Array<boolean> = new Array(reused).fill(false)
    const close = scanItems(text, cut, false, starts, itemEnds, tight)
    if (close < 0 || !restHasNoInputKey(text, close)) return undefined
    const afterItem = text.slice(cut).trimStart()
    const rest = afterItem.startsWith(",") ? afterItem.slice(1) : afterItem
    let parsed: unknown
    try {
      parsed = JSON.parse(text.slice(0, entry.open + 1) + rest)
    } catch {
      return undefined
    }
    if (!isObject(parsed) || !Array.isArray(parsed.input)) return undefined
    if (parsed.input.length !== starts.length - reused) return undefined
    const items = entry.items.slice(0, reused).concat(parsed.input)
    parsed.input = items
    // a continuation (or a retried last turn) supersedes the body it extends; a branch (an edited or
    // compacted history) keeps both
    if (lendsAllButLast(entry, prefix)) this.recent.splice(this.recent.indexOf(entry), 1)
    this.remember(text, items, entry.open, starts, itemEnds, tight, reused)
    return parsed
  }

  private remember(
    text: string,
    items: ReadonlyArray<unknown>,
    open: number,
    starts: ReadonlyArray<number>,
    ends: ReadonlyArray<number>,
    tight: ReadonlyArray<boolean>,
    from: number,
  ): void {
    for (let i = from; i < items.length; i++) {
      const own = tight[i] ? text.slice(starts[i] as number, ends[i] as number) : undefined
      // `JSON.stringify` writes neither escape: an item using them is serialised again to keep its bytes
      const plain = own !== undefined && !own.includes("\\u") && !own.includes("\\/") && own.isWellFormed()
      rememberItem(items[i], plain ? own : undefined)
    }
    // the items array handed out becomes the body's `input`: keep our own copy of the references
    this.recent.unshift({ text, items: items.slice(), open, starts, ends })
    let chars = 0
    for (let i = 0; i < this.recent.length; i++) {
      chars += (this.recent[i] as Entry).text.length
      if (i >= this.maxEntries || (i > 0 && chars > this.maxChars)) {
        this.recent.length = i
        break
      }
    }
  }
}
