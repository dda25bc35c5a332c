/**
 * Parses host request bodies incrementally. OpenCode sends the whole conversation on every turn, so a
 * long session's 1 MB body is the previous turn's body plus a few new items. The memo keeps the last few
 * bodies' text, parsed `input` items and item offsets; a new body that shares a prefix with one of them
 * reuses the items lying wholly inside that prefix and parses only the rest.
 *
 * A large body's items come back deeply frozen, with their text and the previous turn's wire array in a
 * `HostInput` (the value `parse` returns carries it; nothing is kept anywhere else): the rewrite can put an
 * item it left untouched back on the wire without serialising it again, and an item can never change after
 * its text was recorded. Reusing an earlier body's items is sound for the same reason: identical text parses
 * to identical values, and nobody can have edited the values since.
 *
 * Anything unusual (no `input` array, escaped or repeated keys, malformed text) falls back to a plain
 * `JSON.parse`. The memo also keeps each recent session's turn metadata (`turns`), which a decoded request
 * carries to the rewrite.
 */
import { freezeParsed, HostInput } from "./internal/host-input.ts"
import { commonPrefixLength, inputLayout, restHasNoInputKey, scanItems } from "./internal/json-layout.ts"
import { SessionTurns } from "./internal/session-metadata.ts"

/** Bodies smaller than this parse and serialise faster than the bookkeeping would save. */
const MIN_BYTES = 16_384

interface Entry {
  readonly text: string
  /** where the `[` of `input` is in `text` */
  readonly open: number
  /** the body's items, their offsets in `text`, and what the rewrite made of them */
  readonly input: HostInput
  readonly starts: ReadonlyArray<number>
  readonly ends: ReadonlyArray<number>
}

/** A parsed body; `input` is set when the memo took the body's items apart (large bodies). */
export interface ParsedBody {
  readonly value: unknown
  readonly input?: HostInput | undefined
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
  /**
   * the turn metadata each recent session's latest request got (small bodies too): the requests of one tool
   * loop share it instead of writing the same strings again (see `SessionTurns`)
   */
  readonly turns = new SessionTurns()

  constructor(options: HostBodyMemoOptions = {}) {
    this.maxEntries = options.entries ?? 8
    this.maxChars = options.maxChars ?? 32 * 1024 * 1024
  }

  /**
   * `JSON.parse(text)` as `value`, reusing what an earlier body shares with this one; a large body's `input`
   * items are frozen and described by `input`. Throws what `JSON.parse` throws.
   */
  parse(text: string): ParsedBody {
    if (text.length < MIN_BYTES) return { value: JSON.parse(text) }
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
        const items = body.input as Array<unknown>
        for (const item of items) freezeParsed(item)
        const wireForms: Array<unknown> = new Array(items.length)
        // the memo's own array: whatever happens to the body's, the items it lends stay these
        const input = new HostInput(
          items.slice(),
          text,
          layout.starts,
          layout.ends,
          layout.tight,
          0,
          wireForms,
          undefined,
        )
        this.remember({ text, open: layout.open, input, starts: layout.starts, ends: layout.ends })
        return { value: body, input }
      }
    }
    return { value: body }
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
  private extend(entry: Entry, prefix: number, text: string): ParsedBody | undefined {
    const { ends } = entry
    let reused = 0
    while (reused < ends.length && (ends[reused] as number) <= prefix) reused++
    if (reused === 0) return undefined
    const cut = ends[reused - 1] as number
    const starts: Array<number> = entry.starts.slice(0, reused)
    const itemEnds: Array<number> = ends.slice(0, reused)
    // the lent items were tight or not in the earlier text, and the shared prefix is the same text
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
    const fresh = parsed.input as Array<unknown>
    for (const item of fresh) freezeParsed(item)
    const items = entry.input.items.slice(0, reused).concat(fresh)
    parsed.input = items.slice()
    const wireForms = entry.input.wireForms.slice(0, reused)
    wireForms.length = items.length
    const input = new HostInput(items, text, starts, itemEnds, tight, reused, wireForms, entry.input.latest)
    // the pairing after the lent items holds for this body too: its first items are the very same (all the
    // earlier body's items when this one continues it, all but its last when this one replaces that)
    const paired = entry.input.paired
    if (paired !== undefined && paired.count <= reused) input.paired = paired
    else if (paired?.previous !== undefined && paired.previous.count <= reused) input.paired = paired.previous
    // a continuation (or a retried last turn) supersedes the body it extends; a branch (an edited or
    // compacted history) keeps both
    if (lendsAllButLast(entry, prefix)) this.recent.splice(this.recent.indexOf(entry), 1)
    this.remember({ text, open: entry.open, input, starts, ends: itemEnds })
    return { value: parsed, input }
  }

  private remember(entry: Entry): void {
    this.recent.unshift(entry)
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
