/**
 * The rewrite's rules for `input` items (docs/protocol.md §3.4): what each item becomes on the wire, and
 * the pairing of tool calls with their outputs. Items are never edited in place: an item a rule changes is
 * a new object (the host's may be frozen and carry recorded text, see `host-input.ts`).
 *
 * What a rule makes of one host item depends on that item alone, so it is worked out once and kept in the
 * item's slot of `HostInput.wireForms` for every later turn that reuses the item: the same wire objects come
 * back each turn, and the previous turn's text of them can be reused.
 */

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

/** What the rules make of one host item; each form is computed at most once. */
interface Forms {
  /** the item on the wire; `DROPPED` when it is not sent */
  readonly wire: unknown
  /** the wire item for a Responses Lite model */
  lite?: unknown
  /** the message an output becomes when its call is not in the input */
  asMessage?: Json
  /** the output a call gets when the host sent none (an interrupted call) */
  aborted?: Json
}

const DROPPED = Symbol("dropped")

/** `values` with `fn` applied to each; the very array when nothing changed (copy on write). */
const mapShared = (values: ReadonlyArray<unknown>, fn: (value: unknown) => unknown): ReadonlyArray<unknown> => {
  let out: Array<unknown> | undefined
  for (let i = 0; i < values.length; i++) {
    const next = fn(values[i])
    if (next !== values[i]) {
      out ??= values.slice()
      out[i] = next
    }
  }
  return out ?? values
}

/** `part` without an `item_reference` member; the same object when it has none. */
const withoutReference = (part: unknown): unknown =>
  isObject(part) && "item_reference" in part ? omit(part, "item_reference") : part

/**
 * `item` without `item_reference` members, on the item itself or on the parts of its arrays (content,
 * output, summary); the same object when there are none.
 */
const withoutReferences = (item: Json): Json => {
  let out = withoutReference(item) as Json
  for (const key in out) {
    const value = out[key]
    if (!Array.isArray(value)) continue
    const parts = mapShared(value, withoutReference)
    if (parts !== value) out = { ...out, [key]: parts }
  }
  return out
}

/**
 * The item as the backend accepts it with `store: false`: no item ids, no `item_reference` (as an item, or
 * as a field of an item or of its parts), `system` messages as `developer`, function calls with their
 * `arguments` string, and reasoning replayed without its raw text (codex-rs serialises neither ids nor
 * `reasoning_text` back).
 */
const wireForm = (item: unknown): unknown => {
  if (!isObject(item)) return item
  if (item.type === "item_reference") return DROPPED
  let out = withoutReferences(item)
  if ("id" in out) out = omit(out, "id")
  if (out.role === "system") out = { ...out, role: "developer" }
  // a call replayed without arguments (the AI SDK drops empty ones) is refused; ndycode sends `{}`
  if (out.type === "function_call" && typeof out.arguments !== "string") out = { ...out, arguments: "{}" }
  if (out.type === "reasoning" && Array.isArray(out.content)) {
    if (out.content.some((part) => isObject(part) && part.type === "reasoning_text")) out = omit(out, "content")
  }
  return out
}

/** A copy of `value` without `key` (built, not `delete`d: the copy keeps a fast shape). */
const omit = (value: Json, key: string): Json => {
  const out: Json = {}
  for (const k in value) if (k !== key) out[k] = value[k]
  return out
}

/** Responses Lite refuses the `detail` hint of images (codex-rs strips it for Lite requests), at any depth. */
const withoutImageDetail = (value: unknown): unknown => {
  if (Array.isArray(value)) return mapShared(value, withoutImageDetail)
  if (!isObject(value)) return value
  if (value.type === "input_image" && "detail" in value) return omit(value, "detail")
  let out: Json | undefined
  for (const k in value) {
    const next = withoutImageDetail(value[k])
    if (next !== value[k]) {
      out ??= { ...value }
      out[k] = next
    }
  }
  return out ?? value
}

const liteForm = (wire: unknown): unknown => (wire === DROPPED ? wire : withoutImageDetail(wire))

// --- tool calls and their outputs ----------------------------------------------------------------------

/** The call types an output type answers (codex-rs pairs shell calls with function outputs); undefined: not an output. */
const answers = (item: Json): ReadonlyArray<string> | undefined => {
  switch (item.type) {
    case "function_call_output":
      return FUNCTION_CALLS
    case "custom_tool_call_output":
      return CUSTOM_CALLS
    case "local_shell_call_output":
      return SHELL_CALLS
    case "tool_search_output":
      // a server-executed search carries its own result, not an answer to a client call
      return item.execution === "server" ? undefined : SEARCH_CALLS
    default:
      return undefined
  }
}
const FUNCTION_CALLS = ["function_call", "local_shell_call"]
const CUSTOM_CALLS = ["custom_tool_call"]
const SHELL_CALLS = ["local_shell_call"]
const SEARCH_CALLS = ["tool_search_call"]

/** The output codex-rs inserts after a call that was interrupted before it had one; undefined: not a call. */
const abortedOutput = (type: unknown, call_id: string): Json | undefined => {
  switch (type) {
    case "function_call":
    case "local_shell_call":
      return { type: "function_call_output", call_id, output: "aborted" }
    case "custom_tool_call":
      return { type: "custom_tool_call_output", call_id, output: "aborted" }
    case "tool_search_call":
      return { type: "tool_search_output", call_id, status: "completed", execution: "client", tools: [] }
    default:
      return undefined
  }
}

const isCall = (type: unknown): boolean =>
  type === "function_call" || type === "local_shell_call" || type === "custom_tool_call" || type === "tool_search_call"

/** The item's call id when it names one (not blank); checking the first character spares the usual `trim`. */
const callIdOf = (item: Json): string | undefined => {
  const id = item.call_id
  if (typeof id !== "string" || id.length === 0) return undefined
  return id.charCodeAt(0) > 32 || id.trim().length > 0 ? id : undefined
}

/** The text of a tool output: a string as it is, text parts joined, anything else as JSON. */
const outputText = (output: unknown): string => {
  if (typeof output === "string") return output
  if (Array.isArray(output) && output.every((part) => isObject(part) && typeof part.text === "string")) {
    return output.map((part) => (part as { text: string }).text).join("\n")
  }
  return JSON.stringify(output) ?? ""
}

/**
 * What an output whose call is gone becomes: an assistant message that keeps its text, labelled the way the
 * established OpenCode Codex plugins label it (numman-ali, ndycode: `[Previous <name> result; call_id=<id>]`).
 */
const orphanMessage = (item: Json): Json => {
  const name = typeof item.name === "string" ? item.name : "tool"
  const label = callIdOf(item) ?? "unknown"
  return {
    type: "message",
    role: "assistant",
    content: `[Previous ${name} result; call_id=${label}]: ${outputText(item.output)}`,
  }
}

export interface InputRewrite {
  readonly items: Array<unknown>
  /** the instructions: the host's, or the leading system/developer messages lifted out of `input` */
  readonly instructions: string
}

const isInstructionMessage = (item: unknown): item is Json =>
  isObject(item) &&
  (item.role === "system" || item.role === "developer") &&
  (item.type === undefined || item.type === "message")

/** The text of a system/developer message: a string, or the `text` of its content parts. */
const messageText = (content: unknown): string => {
  if (typeof content === "string") return content
  if (!Array.isArray(content)) return ""
  const parts: Array<string> = []
  for (const part of content) if (isObject(part) && typeof part.text === "string") parts.push(part.text)
  return parts.join("\n")
}

/** Where the body memo keeps, per host item, what the rules made of it (see `HostInput.wireForms`). */
export interface FormsCache {
  readonly items: ReadonlyArray<unknown>
  readonly wireForms: Array<unknown>
  /** `wire` is item `at` without its `id` and nothing else: its text may be cut from the item's (see `HostInput`) */
  withoutId(at: number, wire: Json): void
  /** where the pairing of calls stood after the items a previous rewrite went through (see `PairedPrefix`) */
  paired: PairedPrefix | undefined
}

/**
 * The pairing of tool calls after the first `count` items of a host body (before the calls left open get
 * their outputs): a later turn whose body starts with the very same items, and so the very same wire forms,
 * goes on from here instead of pairing the whole conversation again. Read only.
 */
export interface PairedPrefix {
  readonly count: number
  readonly lite: boolean
  readonly out: ReadonlyArray<unknown>
  readonly open: ReadonlyArray<OpenCall>
  /** the pairing one item earlier: for a body that replaces the last item (a retried or edited turn) */
  readonly previous?: PairedPrefix | undefined
}

/** Whether `wire` is `item` with its `id` left out and every other member the very same value. */
const onlyIdDropped = (item: unknown, wire: unknown): boolean => {
  if (!isObject(item) || !isObject(wire) || wire === item || !("id" in item) || "id" in wire) return false
  let members = 0
  for (const key in wire) {
    if (wire[key] !== item[key]) return false
    members++
  }
  for (const _key in item) members--
  return members === -1
}

/**
 * The wire `input` for the host's items. `cache` remembers what the rules made of each item across turns,
 * for the items that are still the very ones it holds; without it everything is worked out afresh. One pass:
 * each item's wire form, then the pairing of tool calls (below) as it goes.
 */
export const rewriteInput = (
  host: ReadonlyArray<unknown>,
  cache: FormsCache | undefined,
  hostInstructions: string,
  lite: boolean,
): InputRewrite => {
  const slots = cache?.wireForms
  const kept = cache?.items
  const earlier = cache?.paired
  const resume = earlier !== undefined && earlier.lite === lite && sameItems(host, kept, earlier.count)
  const pairing = new Pairing(resume ? earlier : undefined)
  // whether every item is the memo's own (so the pairing after them holds for a later body lending them)
  let allKept = slots !== undefined && kept?.length === host.length
  let beforeLast = resume && earlier.count === host.length ? earlier.previous : undefined
  for (let i = resume ? earlier.count : 0; i < host.length; i++) {
    if (i === host.length - 1 && allKept) beforeLast = pairing.prefix(i, lite)
    const item = host[i]
    let wire: unknown
    let f: Forms | undefined
    if (slots === undefined || kept?.[i] !== item) {
      allKept = false
      wire = lite ? liteForm(wireForm(item)) : wireForm(item)
    } else {
      f = slots[i] as Forms | undefined
      if (f === undefined) {
        f = { wire: wireForm(item) }
        slots[i] = f
        // the usual change (an item id the backend refuses with store:false): its text is the host's, cut
        if (onlyIdDropped(item, f.wire)) cache?.withoutId(i, f.wire as Json)
      }
      if (lite && !("lite" in f)) f.lite = liteForm(f.wire)
      wire = lite ? f.lite : f.wire
    }
    if (wire !== DROPPED) pairing.add(wire, f)
  }
  if (cache !== undefined && allKept) cache.paired = { ...pairing.prefix(host.length, lite), previous: beforeLast }
  const out = pairing.end()
  if (hostInstructions.length > 0) return { items: out, instructions: hostInstructions }
  // the host put its system prompt into `input` (no OAuth-aware core): move the leading run up (pairing
  // never touches messages, so the run is the same before and after it)
  const lifted: Array<string> = []
  let lead = 0
  for (; lead < out.length; lead++) {
    const item = out[lead]
    if (!isInstructionMessage(item)) break
    lifted.push(messageText(item.content))
  }
  return { items: lead === 0 ? out : out.slice(lead), instructions: lifted.join("\n") }
}

/** A form made from one item, kept in its forms when it has any (so later turns get the same object). */
const remembered = (f: Forms | undefined, key: "asMessage" | "aborted", make: () => Json): Json => {
  if (f === undefined) return make()
  const known = f[key]
  if (known !== undefined) return known
  const made = make()
  f[key] = made
  return made
}

export interface OpenCall {
  readonly type: string
  readonly id: string
  /** where the call is in the output list */
  readonly at: number
  readonly forms: Forms | undefined
}

/**
 * Every output answers a call earlier in `input`, and every call has its output: an output whose call is
 * missing (or that names none) becomes a message keeping its text; a call without an output gets the
 * `aborted` output codex-rs gives an interrupted call, right after it. The calls still waiting for their
 * output are few at any point of a conversation, so they are kept in a short list.
 */
class Pairing {
  private readonly out: Array<unknown>
  private readonly open: Array<OpenCall>

  constructor(from?: PairedPrefix) {
    this.out = from === undefined ? [] : from.out.slice()
    this.open = from === undefined ? [] : from.open.slice()
  }

  /** Where the pairing stands after `count` host items (copies: `end` changes the list). */
  prefix(count: number, lite: boolean): PairedPrefix {
    return { count, lite, out: this.out.slice(), open: this.open.slice() }
  }

  add(item: unknown, f: Forms | undefined): void {
    const out = this.out
    const type = typeof item === "object" && item !== null ? (item as Json).type : undefined
    // most items are neither calls nor outputs
    if (type === "message" || type === "reasoning" || type === undefined || typeof type !== "string") {
      out.push(item)
      return
    }
    const json = item as Json
    const callTypes = answers(json)
    if (callTypes !== undefined) {
      const id = callIdOf(json)
      const open = this.open
      let k = -1
      if (id !== undefined) {
        for (let j = 0; j < open.length; j++) {
          const c = open[j] as OpenCall
          if (c.id === id && callTypes.includes(c.type)) {
            k = j
            break
          }
        }
      }
      // usually the call just made: popped, no array allocated for the removed one
      if (k === open.length - 1) open.pop()
      else if (k >= 0) open.splice(k, 1)
      if (k >= 0 || (id !== undefined && answeredEarlier(out, id, callTypes))) out.push(item)
      else out.push(remembered(f, "asMessage", () => orphanMessage(json)))
      return
    }
    out.push(item)
    if (!isCall(type)) return
    const id = callIdOf(json)
    if (id !== undefined) this.open.push({ type, id, at: out.length - 1, forms: f })
  }

  /** The items, with an output for every call nobody answered (last first, so earlier positions stay right). */
  end(): Array<unknown> {
    const out = this.out
    for (let k = this.open.length - 1; k >= 0; k--) {
      const call = this.open[k] as OpenCall
      out.splice(
        call.at + 1,
        0,
        remembered(call.forms, "aborted", () => abortedOutput(call.type, call.id) as Json),
      )
    }
    return out
  }
}

/** Whether the first `count` of `host` are the very items of `kept`. */
const sameItems = (host: ReadonlyArray<unknown>, kept: ReadonlyArray<unknown> | undefined, count: number): boolean => {
  if (kept === undefined || count > host.length || count > kept.length) return false
  for (let i = 0; i < count; i++) if (host[i] !== kept[i]) return false
  return true
}

/** A second output for a call answered already: kept when the call is earlier (rare, so a plain scan). */
const answeredEarlier = (out: ReadonlyArray<unknown>, id: string, callTypes: ReadonlyArray<string>): boolean => {
  for (let j = out.length - 1; j >= 0; j--) {
    const item = out[j]
    if (isObject(item) && item.call_id === id && typeof item.type === "string" && callTypes.includes(item.type)) {
      return true
    }
  }
  return false
}
