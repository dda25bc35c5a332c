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
  /**
   * the whole body the array was sent in: the runtime flattens that string when it writes it out, so the
   * next turn's slice of it is a view, not a copy of a megabyte of text
   */
  readonly source: string
  /** where the array's `[` is in `source` */
  readonly start: number
  /** offset just after each item's text, counted from `start` */
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

interface ArrayPlan {
  readonly items: ReadonlyArray<unknown>
  readonly text: string
  readonly ends: ReadonlyArray<number>
}

/** `JSON.stringify(items)`, reusing remembered item texts and the longest shared prefix of an earlier array. */
const planItems = (items: ReadonlyArray<unknown>, first: object): ArrayPlan => {
  const earlier = arrayTexts.get(first)
  let shared = 0
  if (earlier !== undefined) {
    const limit = Math.min(earlier.items.length, items.length)
    while (shared < limit && earlier.items[shared] === items[shared]) shared++
  }
  const ends: Array<number> = earlier === undefined ? [] : earlier.ends.slice(0, shared)
  let text =
    shared === 0
      ? "["
      : (earlier as ArrayText).source.slice(
          (earlier as ArrayText).start,
          (earlier as ArrayText).start + (ends[shared - 1] as number),
        )
  for (let i = shared; i < items.length; i++) {
    text += i === 0 ? takeItemText(items[i]) : `,${takeItemText(items[i])}`
    ends.push(text.length)
  }
  return { items, text: `${text}]`, ends }
}

/**
 * `JSON.stringify(body)` for a body whose own keys are already in wire order, `input` written from remembered
 * item texts and the previous turn's text (see `planItems`). Same text as `JSON.stringify` for any JSON value.
 */
export const serializeBody = (body: Readonly<Record<string, unknown>>): string => {
  const input = body.input
  if (!Array.isArray(input) || plainBody(input[0])) return JSON.stringify(body)
  let head = "{"
  let tail = ""
  let plan: ArrayPlan | undefined
  for (const key in body) {
    const value = body[key]
    if (key === "input" && plan === undefined) {
      plan = planItems(value as ReadonlyArray<unknown>, input[0] as object)
      head += `${head === "{" ? "" : ","}"input":`
      continue
    }
    const valueText = JSON.stringify(value)
    if (valueText === undefined) continue
    const member = `${JSON.stringify(key)}:${valueText}`
    if (plan === undefined) head += head === "{" ? member : `,${member}`
    else tail += `,${member}`
  }
  const arrayText = (plan as ArrayPlan).text
  const source = `${head}${arrayText}${tail}}`
  arrayTexts.set(input[0] as object, {
    items: (plan as ArrayPlan).items.slice(),
    source,
    start: head.length,
    ends: (plan as ArrayPlan).ends,
  })
  return source
}
