/**
 * Where things are in a JSON request body's text, without parsing it: the top-level `input` array, and the
 * offset after each of its items. The body memo uses this to reuse the items a new turn shares with the
 * previous one. String contents, the bulk of a prompt, are skipped with `indexOf`, so a scan touches only
 * structure. Anything this scanner does not fully understand (escaped keys, a repeated `input` key,
 * malformed text) makes it answer `undefined`, and the caller parses the whole body instead.
 */

const QUOTE = 34
const BACKSLASH = 92
const COMMA = 44
const COLON = 58
const OPEN_BRACE = 123
const CLOSE_BRACE = 125
const OPEN_BRACKET = 91
const CLOSE_BRACKET = 93

export interface InputLayout {
  /** offset of the `[` that opens `input` */
  readonly open: number
  /** for each item, the offset just after its last character */
  readonly ends: ReadonlyArray<number>
  /** for each item, the offset of its first character */
  readonly starts: ReadonlyArray<number>
  /** for each item, whether it is an object or array written without whitespace or numbers */
  readonly tight: ReadonlyArray<boolean>
}

const isSpace = (c: number) => c === 32 || c === 10 || c === 13 || c === 9

const skipSpace = (text: string, at: number): number => {
  let i = at
  while (i < text.length && isSpace(text.charCodeAt(i))) i++
  return i
}

/** Offset just after the string whose opening quote is at `at`; -1 when unterminated. */
const stringEnd = (text: string, at: number): number => {
  let from = at + 1
  for (;;) {
    const quote = text.indexOf('"', from)
    if (quote < 0) return -1
    let k = quote - 1
    while (text.charCodeAt(k) === BACKSLASH) k--
    if ((quote - 1 - k) % 2 === 0) return quote + 1
    from = quote + 1
  }
}

/**
 * The value starting at `at` (no leading whitespace), as one number so the hot path allocates nothing:
 * `end * 2 + tight`, or -1 when malformed. `end` is the offset just after the value; `tight` (1) says the
 * value is an object or array that has, outside its strings, nothing but brackets, braces, colons, commas
 * and the letters of `true`/`false`/`null`: no whitespace and no number, whose spelling `JSON.stringify`
 * might write differently.
 */
const valueSpan = (text: string, at: number): number => {
  const first = text.charCodeAt(at)
  if (first === QUOTE) {
    const end = stringEnd(text, at)
    return end < 0 ? -1 : end * 2
  }
  if (first !== OPEN_BRACE && first !== OPEN_BRACKET) {
    let i = at
    for (; i < text.length; i++) {
      const c = text.charCodeAt(i)
      if (c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isSpace(c)) break
    }
    return i > at ? i * 2 : -1
  }
  let depth = 0
  let tight = 1
  let i = at
  while (i < text.length) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      i = stringEnd(text, i)
      if (i < 0) return -1
      continue
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) depth++
    else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--
      if (depth === 0) return (i + 1) * 2 + tight
    } else if (c !== COLON && c !== COMMA && (c < 97 || c > 122)) tight = 0
    i++
  }
  return -1
}

/** Offset just after the value starting at `at` (no leading whitespace); -1 when malformed. */
const valueEnd = (text: string, at: number): number => {
  const span = valueSpan(text, at)
  return span < 0 ? -1 : Math.floor(span / 2)
}

/**
 * Scans the items of an array from `at`, which is either just after its `[` (`first`) or at the separator
 * after an item. Collects each item's start and end; answers the offset just after the closing `]`.
 */
export const scanItems = (
  text: string,
  at: number,
  first: boolean,
  starts: Array<number>,
  ends: Array<number>,
  tight?: Array<boolean>,
): number => {
  let i = skipSpace(text, at)
  if (first) {
    if (text.charCodeAt(i) === CLOSE_BRACKET) return i + 1
  } else {
    const c = text.charCodeAt(i)
    if (c === CLOSE_BRACKET) return i + 1
    if (c !== COMMA) return -1
    i = skipSpace(text, i + 1)
  }
  for (;;) {
    const span = valueSpan(text, i)
    if (span < 0) return -1
    const end = Math.floor(span / 2)
    starts.push(i)
    ends.push(end)
    tight?.push(span % 2 === 1)
    i = skipSpace(text, end)
    const c = text.charCodeAt(i)
    if (c === CLOSE_BRACKET) return i + 1
    if (c !== COMMA) return -1
    i = skipSpace(text, i + 1)
  }
}

/**
 * Checks the rest of a top-level object from `at` (just after a member's value) to its end: answers false
 * when it holds another key spelled `input` (JSON.parse keeps the last of repeated keys), or, when it spells
 * `"input"` at all, when it is malformed.
 */
export const restHasNoInputKey = (text: string, at: number): boolean => {
  // the usual case, found natively: the rest does not even spell `"input"` (in a key, a value or anywhere),
  // nor any `\u` escape that could spell it; its well-formedness is then JSON.parse's to judge, which the
  // caller runs on it anyway
  if (text.indexOf('"input"', at) < 0 && text.indexOf("\\u", at) < 0) return true
  let i = at
  for (;;) {
    i = skipSpace(text, i)
    const c = text.charCodeAt(i)
    if (c === CLOSE_BRACE) return skipSpace(text, i + 1) === text.length
    if (c !== COMMA) return false
    i = skipSpace(text, i + 1)
    const member = memberAt(text, i)
    if (member === undefined || member.key === "input") return false
    i = member.valueEnd
  }
}

interface Member {
  readonly key: string
  readonly valueStart: number
  readonly valueEnd: number
}

/** The object member starting at `at` (its key's quote). Keys with escapes are refused, not decoded. */
const memberAt = (text: string, at: number): Member | undefined => {
  if (text.charCodeAt(at) !== QUOTE) return undefined
  const keyEnd = stringEnd(text, at)
  if (keyEnd < 0) return undefined
  const key = text.slice(at + 1, keyEnd - 1)
  if (key.includes("\\")) return undefined
  let i = skipSpace(text, keyEnd)
  if (text.charCodeAt(i) !== COLON) return undefined
  i = skipSpace(text, i + 1)
  const end = valueEnd(text, i)
  return end < 0 ? undefined : { key, valueStart: i, valueEnd: end }
}

/**
 * An object's text without its top-level member named `key` (a plain name), for text written as
 * `JSON.stringify` writes it (no whitespace); undefined when that member is not found behind members with
 * string values only (the usual shape: an item's `type` or `role`, then its `id`). Members keep their order,
 * so the answer is `JSON.stringify` of the object without that key. Allocates nothing until the cut.
 */
export const withoutMember = (text: string, key: string): string | undefined => {
  const name = `"${key}":`
  if (text.charCodeAt(0) !== OPEN_BRACE) return undefined
  let i = 1
  for (;;) {
    if (text.startsWith(name, i)) {
      const end = valueEnd(text, i + name.length)
      if (end < 0) return undefined
      const next = text.charCodeAt(end)
      if (next === COMMA) return text.slice(0, i) + text.slice(end + 1)
      if (next !== CLOSE_BRACE || end !== text.length - 1) return undefined
      return i === 1 ? "{}" : text.slice(0, i - 1) + text.slice(end)
    }
    if (text.charCodeAt(i) !== QUOTE) return undefined
    const keyEnd = stringEnd(text, i)
    if (keyEnd < 0 || text.charCodeAt(keyEnd) !== COLON || text.charCodeAt(keyEnd + 1) !== QUOTE) return undefined
    const valueEndAt = stringEnd(text, keyEnd + 1)
    if (valueEndAt < 0 || text.charCodeAt(valueEndAt) !== COMMA) return undefined
    i = valueEndAt + 1
  }
}

/** The layout of the top-level `input` array of `text`, or undefined when there is none or it is unclear. */
export const inputLayout = (text: string): InputLayout | undefined => {
  let i = skipSpace(text, 0)
  if (text.charCodeAt(i) !== OPEN_BRACE) return undefined
  i = skipSpace(text, i + 1)
  if (text.charCodeAt(i) === CLOSE_BRACE) return undefined
  for (;;) {
    const member = memberAt(text, i)
    if (member === undefined) return undefined
    if (member.key === "input") {
      if (text.charCodeAt(member.valueStart) !== OPEN_BRACKET) return undefined
      const starts: Array<number> = []
      const ends: Array<number> = []
      const tight: Array<boolean> = []
      const close = scanItems(text, member.valueStart + 1, true, starts, ends, tight)
      if (close !== member.valueEnd || !restHasNoInputKey(text, close)) return undefined
      return { open: member.valueStart, starts, ends, tight }
    }
    i = skipSpace(text, member.valueEnd)
    if (text.charCodeAt(i) !== COMMA) return undefined
    i = skipSpace(text, i + 1)
  }
}

/**
 * Length of the common prefix of two strings. The first characters are compared one by one (two unrelated
 * bodies, such as a cold one and the memo's, part within the first item); past them, blocks that double in
 * size are compared natively, and the block that differs is narrowed down. Comparing two slices costs about
 * their length even when they differ early (measured: docs/performance.md, "Round 3: cold"), so a difference
 * near the start must not cost a 64 KB block against each of the memo's bodies.
 */
export const commonPrefixLength = (a: string, b: string): number => {
  const limit = Math.min(a.length, b.length)
  let at = 0
  const direct = Math.min(limit, 256)
  while (at < direct && a.charCodeAt(at) === b.charCodeAt(at)) at++
  if (at < direct) return at
  let block = 512
  while (at + block <= limit && a.slice(at, at + block) === b.slice(at, at + block)) {
    at += block
    if (block < 65_536) block *= 2
  }
  let end = Math.min(at + block, limit)
  while (end - at > 64) {
    const mid = (at + end) >> 1
    if (a.slice(at, mid) === b.slice(at, mid)) at = mid
    else end = mid
  }
  while (at < end && a.charCodeAt(at) === b.charCodeAt(at)) at++
  return at
}
