/**
 * Why two consecutive request bodies stopped sharing a prefix. The backend caches the rendered prompt
 * (instructions, tools, input items in order), so a cliff is explained by the first of those that changed;
 * other top-level fields are reported too because a model or cache-key change loses the cache as well.
 */

export type Cause =
  | { readonly kind: "instructions-changed"; readonly before: number; readonly after: number }
  | {
      readonly kind: "tools-changed"
      readonly added: ReadonlyArray<string>
      readonly removed: ReadonlyArray<string>
      readonly rewritten: ReadonlyArray<string>
      readonly reordered: boolean
    }
  | { readonly kind: "item-rewritten"; readonly index: number; readonly beforeType: string; readonly afterType: string }
  | { readonly kind: "items-reordered"; readonly from: number }
  | { readonly kind: "items-removed"; readonly before: number; readonly after: number }
  | { readonly kind: "items-inserted"; readonly index: number; readonly count: number }
  | { readonly kind: "field-changed"; readonly field: string; readonly before: string; readonly after: string }
  | { readonly kind: "not-json" }

/** length of the common byte prefix */
export const commonPrefix = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length)
  let i = 0
  // compare 8 bytes at a time while the buffers are aligned enough to view as words
  if (a.byteOffset % 8 === 0 && b.byteOffset % 8 === 0) {
    const words = Math.floor(n / 8)
    const wa = new BigUint64Array(a.buffer, a.byteOffset, words)
    const wb = new BigUint64Array(b.buffer, b.byteOffset, words)
    let w = 0
    while (w < words && wa[w] === wb[w]) w++
    i = w * 8
  }
  while (i < n && a[i] === b[i]) i++
  return i
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const json = (value: unknown): string => JSON.stringify(value) ?? "undefined"

const toolName = (tool: unknown, index: number): string => {
  if (!isRecord(tool)) return `#${index}`
  if (typeof tool.name === "string") return tool.name
  if (isRecord(tool.function) && typeof tool.function.name === "string") return tool.function.name
  return typeof tool.type === "string" ? tool.type : `#${index}`
}

const itemType = (item: unknown): string => {
  if (!isRecord(item)) return typeof item
  const type = typeof item.type === "string" ? item.type : "message"
  return typeof item.role === "string" ? `${type}(${item.role})` : type
}

const shorten = (text: string, max = 60): string => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

const diffTools = (before: ReadonlyArray<unknown>, after: ReadonlyArray<unknown>): Cause | undefined => {
  if (json(before) === json(after)) return undefined
  const beforeNames = before.map(toolName)
  const afterNames = after.map(toolName)
  const beforeByName = new Map(before.map((tool, i) => [toolName(tool, i), json(tool)]))
  const added = afterNames.filter((name) => !beforeByName.has(name))
  const removed = beforeNames.filter((name) => !afterNames.includes(name))
  const rewritten = after
    .map((tool, i) => [toolName(tool, i), json(tool)] as const)
    .filter(([name, text]) => beforeByName.has(name) && beforeByName.get(name) !== text)
    .map(([name]) => name)
  const common = afterNames.filter((name) => beforeByName.has(name))
  const commonBefore = beforeNames.filter((name) => afterNames.includes(name))
  const reordered = common.join("\u0000") !== commonBefore.join("\u0000")
  return { kind: "tools-changed", added, removed, rewritten, reordered }
}

const diffInput = (before: ReadonlyArray<unknown>, after: ReadonlyArray<unknown>): Cause | undefined => {
  const beforeText = before.map(json)
  const afterText = after.map(json)
  const n = Math.min(beforeText.length, afterText.length)
  let i = 0
  while (i < n && beforeText[i] === afterText[i]) i++
  if (i === beforeText.length) return undefined // pure growth
  if (i === afterText.length) return { kind: "items-removed", before: before.length, after: after.length }
  const afterSet = new Set(afterText)
  const beforeSet = new Set(beforeText)
  // the new item at i is one that used to come later, and everything skipped over is gone: a removal
  const resumes = beforeText.indexOf(afterText[i] ?? "", i + 1)
  if (resumes > i && beforeText.slice(i, resumes).every((text) => !afterSet.has(text))) {
    return { kind: "items-removed", before: before.length, after: after.length }
  }
  // the old item at i now comes later, and everything before it there is new: an insertion
  const moved = afterText.indexOf(beforeText[i] ?? "", i + 1)
  if (moved > i && afterText.slice(i, moved).every((text) => !beforeSet.has(text))) {
    return { kind: "items-inserted", index: i, count: moved - i }
  }
  const later = new Set(afterText.slice(i))
  if (beforeText.slice(i).every((text) => later.has(text))) return { kind: "items-reordered", from: i }
  return { kind: "item-rewritten", index: i, beforeType: itemType(before[i]), afterType: itemType(after[i]) }
}

const PROMPT_FIELDS = new Set(["instructions", "tools", "input"])

/** every reason the second body cannot reuse the first one's cached prefix, most important first */
export const diagnose = (before: unknown, after: unknown): ReadonlyArray<Cause> => {
  if (!isRecord(before) || !isRecord(after)) return [{ kind: "not-json" }]
  const causes: Array<Cause> = []
  if (json(before.instructions) !== json(after.instructions)) {
    const length = (value: unknown) => (typeof value === "string" ? value.length : 0)
    causes.push({
      kind: "instructions-changed",
      before: length(before.instructions),
      after: length(after.instructions),
    })
  }
  const tools = diffTools(
    Array.isArray(before.tools) ? before.tools : [],
    Array.isArray(after.tools) ? after.tools : [],
  )
  if (tools !== undefined) causes.push(tools)
  const input = diffInput(
    Array.isArray(before.input) ? before.input : [],
    Array.isArray(after.input) ? after.input : [],
  )
  if (input !== undefined) causes.push(input)
  const fields = new Set([...Object.keys(before), ...Object.keys(after)])
  for (const field of fields) {
    if (PROMPT_FIELDS.has(field)) continue
    const a = json(before[field])
    const b = json(after[field])
    if (a !== b) causes.push({ kind: "field-changed", field, before: shorten(a), after: shorten(b) })
  }
  return causes
}

const list = (names: ReadonlyArray<string>) => names.join(", ")

/** one line per cause, for people */
export const describeCause = (cause: Cause): string => {
  switch (cause.kind) {
    case "instructions-changed":
      return `instructions changed (${cause.before} -> ${cause.after} chars)`
    case "tools-changed": {
      const parts: Array<string> = []
      if (cause.added.length > 0) parts.push(`added ${list(cause.added)}`)
      if (cause.removed.length > 0) parts.push(`removed ${list(cause.removed)}`)
      if (cause.rewritten.length > 0) parts.push(`rewritten ${list(cause.rewritten)}`)
      if (cause.reordered) parts.push("reordered")
      return `tools changed: ${parts.length > 0 ? parts.join("; ") : "serialization differs"}`
    }
    case "item-rewritten":
      return cause.beforeType === cause.afterType
        ? `input item ${cause.index} (${cause.beforeType}) rewritten`
        : `input item ${cause.index} rewritten (${cause.beforeType} -> ${cause.afterType})`
    case "items-reordered":
      return `input items reordered from index ${cause.from}`
    case "items-inserted":
      return `${cause.count} input item(s) inserted at index ${cause.index}`
    case "items-removed":
      return `input items removed (${cause.before} -> ${cause.after} items)`
    case "field-changed":
      return `${cause.field} changed: ${cause.before} -> ${cause.after}`
    case "not-json":
      return "body is not a JSON object"
  }
}
