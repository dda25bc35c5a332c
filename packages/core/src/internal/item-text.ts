/**
 * The JSON text of `input` items. The host body memo records each newly parsed item's own text from the
 * host's body; the rewrite forgets it for the items it changes; serialising a body then reuses the text of
 * every untouched new item, and the text of the array prefix a new turn shares with the previous one
 * (same item objects, remembered per conversation), instead of walking a megabyte of objects again.
 *
 * Invariant: an item object is never mutated after its text was taken, except through the rewrite, which
 * calls `forgetItemText` first.
 */

const itemTexts = new WeakMap<object, string>()

interface ArrayText {
  readonly items: ReadonlyArray<unknown>
  readonly text: string
  /** offset just after each item's text in `text` */
  readonly ends: ReadonlyArray<number>
}

/** keyed by the array's first item: one conversation's arrays share it from turn to turn */
const arrayTexts = new WeakMap<object, ArrayText>()

/** items of bodies the memo keeps: only their arrays are worth remembering the text of for the next turn */
const memoItems = new WeakSet<object>()

/** The memo parsed `item` from a large body; `text` is its own text when written as `JSON.stringify` would. */
export const rememberItem = (item: unknown, text: string | undefined): void => {
  if (typeof item !== "object" || item === null) return
  memoItems.add(item)
  if (text !== undefined) itemTexts.set(item, text)
}

/** a body whose first item neither came through the memo nor was serialised before: one plain stringify */
const plainBody = (first: unknown): boolean => typeof first !== "object" || first === null || !memoItems.has(first)

export const forgetItemText = (item: object): void => {
  itemTexts.delete(item)
}

/**
 * An item's text, taken once: a remembered host slice would keep the whole host body it was cut from
 * alive, and after its first serialisation the item's text lives on in its array's text anyway.
 */
const takeItemText = (item: unknown): string => {
  if (typeof item !== "object" || item === null) return JSON.stringify(item) ?? "null"
  const text = itemTexts.get(item)
  if (text === undefined) return JSON.stringify(item)
  itemTexts.delete(item)
  return text
}

/** `JSON.stringify(items)`, reusing remembered item texts and the longest shared prefix of an earlier array. */
export const serializeItems = (items: ReadonlyArray<unknown>): string => {
  const first = items[0]
  if (typeof first !== "object" || first === null || plainBody(first)) return JSON.stringify(items)
  const earlier = arrayTexts.get(first)
  let shared = 0
  if (earlier !== undefined) {
    const limit = Math.min(earlier.items.length, items.length)
    while (shared < limit && earlier.items[shared] === items[shared]) shared++
  }
  const ends: Array<number> = earlier === undefined ? [] : earlier.ends.slice(0, shared)
  let text = shared === 0 ? "[" : (earlier as ArrayText).text.slice(0, ends[shared - 1])
  for (let i = shared; i < items.length; i++) {
    text += i === 0 ? takeItemText(items[i]) : `,${takeItemText(items[i])}`
    ends.push(text.length)
  }
  text += "]"
  arrayTexts.set(first, { items: items.slice(), text, ends })
  return text
}

/**
 * `JSON.stringify(body)` for a body whose own keys are already in wire order, with `input` through
 * `serializeItems`. Same bytes as `JSON.stringify` for any JSON value.
 */
export const serializeBody = (body: Readonly<Record<string, unknown>>): string => {
  let text = "{"
  let first = true
  for (const key in body) {
    const value = body[key]
    const valueText = key === "input" && Array.isArray(value) ? serializeItems(value) : JSON.stringify(value)
    if (valueText === undefined) continue
    text += `${first ? "" : ","}${JSON.stringify(key)}:${valueText}`
    first = false
  }
  return `${text}}`
}

interface ArrayBytes {
  readonly items: ReadonlyArray<unknown>
  /** the array's UTF-8 text, a view into the body it was sent in */
  readonly bytes: Uint8Array
  /** byte offset just after each item in `bytes` */
  readonly ends: ReadonlyArray<number>
}

/** keyed like `arrayTexts`; kept apart because a body goes out either as bytes (HTTP) or as text (WebSocket) */
const arrayBytes = new WeakMap<object, ArrayBytes>()

const encoder = new TextEncoder()

/** byte offsets matching the character offsets `charEnds` in `text` */
const byteEndsOf = (text: string, charEnds: ReadonlyArray<number>, encodedLength: number): Array<number> => {
  if (encodedLength === text.length) return charEnds.slice()
  const out: Array<number> = []
  let chars = 0
  let bytes = 0
  for (const end of charEnds) {
    bytes += encoder.encode(text.slice(chars, end)).length
    chars = end
    out.push(bytes)
  }
  return out
}

/**
 * The UTF-8 bytes of `serializeBody(body)`. The `input` items a body shares with the previous turn's (same
 * objects, same order) are copied from that turn's bytes instead of being encoded again: a 1 MB body costs
 * a memory copy plus the encoding of what is new.
 */
export const serializeBodyBytes = (body: Readonly<Record<string, unknown>>): Uint8Array => {
  if (!Array.isArray(body.input) || plainBody(body.input[0])) return encoder.encode(JSON.stringify(body))
  const parts: Array<Uint8Array> = []
  let pending = "{"
  let first = true
  let array:
    | { items: ReadonlyArray<unknown>; part: number; prefix: Uint8Array | undefined; ends: Array<number> }
    | undefined
  for (const key in body) {
    const value = body[key]
    if (array === undefined && key === "input" && Array.isArray(value) && typeof value[0] === "object" && value[0]) {
      parts.push(encoder.encode(`${pending}${first ? "" : ","}"input":`))
      pending = ""
      first = false
      const earlier = arrayBytes.get(value[0])
      let shared = 0
      // a body buffer the runtime detached after sending reads as empty: then nothing is reused
      if (earlier !== undefined && earlier.bytes.byteLength > 0) {
        const limit = Math.min(earlier.items.length, value.length)
        while (shared < limit && earlier.items[shared] === value[shared]) shared++
      }
      const prefix =
        shared === 0 ? undefined : (earlier as ArrayBytes).bytes.subarray(0, (earlier as ArrayBytes).ends[shared - 1])
      let text = shared === 0 ? "[" : ""
      const charEnds: Array<number> = []
      for (let i = shared; i < value.length; i++) {
        text += i === 0 ? takeItemText(value[i]) : `,${takeItemText(value[i])}`
        charEnds.push(text.length)
      }
      text += "]"
      const encoded = encoder.encode(text)
      const base = prefix?.length ?? 0
      const ends = (earlier === undefined ? [] : earlier.ends.slice(0, shared)).concat(
        byteEndsOf(text, charEnds, encoded.length).map((end) => end + base),
      )
      if (prefix !== undefined) parts.push(prefix)
      array = { items: value, part: parts.length - (prefix === undefined ? 0 : 1), prefix, ends }
      parts.push(encoded)
      continue
    }
    const valueText = key === "input" && Array.isArray(value) ? serializeItems(value) : JSON.stringify(value)
    if (valueText === undefined) continue
    pending += `${first ? "" : ","}${JSON.stringify(key)}:${valueText}`
    first = false
  }
  parts.push(encoder.encode(`${pending}}`))
  let total = 0
  for (const part of parts) total += part.length
  const out = new Uint8Array(total)
  let at = 0
  let arrayStart = 0
  let arrayEnd = 0
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as Uint8Array
    if (array !== undefined && i === array.part) arrayStart = at
    out.set(part, at)
    at += part.length
    if (array !== undefined && i === array.part + (array.prefix === undefined ? 0 : 1)) arrayEnd = at
  }
  if (array !== undefined) {
    arrayBytes.set(array.items[0] as object, {
      items: array.items.slice(),
      bytes: out.subarray(arrayStart, arrayEnd),
      ends: array.ends,
    })
  }
  return out
}
