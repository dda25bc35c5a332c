/**
 * `previous_response_id` chaining on one WebSocket: the server keeps the last response in a cache local to
 * the connection, so a follow-up may send only the new input items. That is only safe when the follow-up is
 * exactly "the previous request + what the previous response produced + new items" with every other field
 * unchanged; anything else gets a full request (a wrong chain is a 400 or, worse, a silently different
 * conversation).
 *
 * Output items are compared without `id`/`status`: the server's items carry them, the items the host sends
 * back must not (store:false rejects item ids). Only items the response finalized
 * (`response.output_item.done`) are recorded, so a function call that never finished is never trimmed.
 */
import { responseCreateFrame } from "@cortexkit/openai-auth-core/CodexRequest"

export interface ChainState {
  /** every field but `input` / `previous_response_id`, serialized in body order */
  readonly fieldsKey: string
  /** the full logical input of the previous request */
  readonly input: ReadonlyArray<unknown>
  /** what the previous response produced, in order */
  readonly output: ReadonlyArray<unknown>
  readonly responseId: string
}

export type ChainPlan =
  | { readonly chained: false; readonly json: Readonly<Record<string, unknown>> }
  | {
      readonly chained: true
      readonly json: Readonly<Record<string, unknown>>
      readonly previousResponseId: string
      readonly newItems: number
    }

// `client_metadata` is per-request metadata (the turn id changes with each user turn), not a request field
const IGNORED = new Set(["input", "previous_response_id", "client_metadata"])

export const fieldsKey = (json: Readonly<Record<string, unknown>>): string => {
  const rest: Record<string, unknown> = {}
  for (const key of Object.keys(json)) if (!IGNORED.has(key)) rest[key] = json[key]
  return JSON.stringify(rest)
}

const itemKey = (item: unknown): string => JSON.stringify(item)

// a content part's empty lists say nothing: the server writes `annotations: []`, hosts leave it out
const EMPTY_MEANS_ABSENT = new Set(["annotations", "logprobs"])

const canonical = (value: unknown): unknown => {
  if (Array.isArray(value)) return value.map(canonical)
  if (typeof value !== "object" || value === null) return value
  const record = value as Record<string, unknown>
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(record).sort()) {
    const field = record[key]
    if (EMPTY_MEANS_ABSENT.has(key) && Array.isArray(field) && field.length === 0) continue
    out[key] = canonical(field)
  }
  return out
}

/**
 * An output item as the model reads it, whether the server wrote it or a host sent it back: without the
 * server's `id`/`status`, keys in sorted order, an item with a `role` and no `type` read as a `message`, and
 * empty `annotations`/`logprobs` as absent. OpenCode (the AI SDK) replays the server's items with its own key
 * order, an assistant message without `type` and its text parts without `annotations`: compared byte for byte
 * no real OpenCode turn ever matched, and every turn went out full.
 */
const outputKey = (item: unknown): string => {
  if (typeof item !== "object" || item === null || Array.isArray(item)) return JSON.stringify(item)
  const { id: _id, status: _status, ...rest } = item as Record<string, unknown>
  if (rest.type === undefined && typeof rest.role === "string") rest.type = "message"
  return JSON.stringify(canonical(rest))
}

const inputOf = (json: Readonly<Record<string, unknown>>): ReadonlyArray<unknown> | undefined =>
  Array.isArray(json.input) ? (json.input as ReadonlyArray<unknown>) : undefined

/** Decides between a chained and a full request for `json` given the socket's chain. */
export const planRequest = (json: Readonly<Record<string, unknown>>, chain: ChainState | undefined): ChainPlan => {
  const full: ChainPlan = { chained: false, json }
  const input = inputOf(json)
  if (chain === undefined || input === undefined || json.previous_response_id !== undefined) return full
  const prefix = chain.input.length + chain.output.length
  if (input.length <= prefix) return full
  if (fieldsKey(json) !== chain.fieldsKey) return full
  // the host body memo hands the previous turn's item objects back: identical objects need no comparing
  for (let i = 0; i < chain.input.length; i++) {
    if (input[i] !== chain.input[i] && itemKey(input[i]) !== itemKey(chain.input[i])) return full
  }
  for (let i = 0; i < chain.output.length; i++) {
    if (outputKey(input[chain.input.length + i]) !== outputKey(chain.output[i])) return full
  }
  return {
    chained: true,
    json: { ...json, input: input.slice(prefix), previous_response_id: chain.responseId },
    previousResponseId: chain.responseId,
    newItems: input.length - prefix,
  }
}

/** The chain a completed response leaves behind (the full request, not the chained one that was sent). */
export const chainAfter = (
  json: Readonly<Record<string, unknown>>,
  responseId: string,
  output: ReadonlyArray<unknown>,
): ChainState | undefined => {
  const input = inputOf(json)
  if (input === undefined) return undefined
  return { fieldsKey: fieldsKey(json), input, output, responseId }
}

/**
 * The `response.create` frame (core's `responseCreateFrame`); `text`, when given, is exactly
 * `JSON.stringify(json)` and the frame is cut from it.
 */
export const createFrame = (json: Readonly<Record<string, unknown>>, text?: string): string =>
  responseCreateFrame(json, text)
