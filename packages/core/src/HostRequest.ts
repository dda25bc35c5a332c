/**
 * What the host hands to our `fetch`, decoded once at the boundary: URL, method, headers as a plain
 * lower-cased record, and the JSON body. The body keeps every field the host sent — deciding what the Codex
 * backend accepts is the rewrite's job (`CodexRequest`), not the decoder's.
 */
import { Result, Schema } from "effect"
import type { HostBodyMemo } from "./HostBodyMemo.ts"
import type { HostInput } from "./internal/host-input.ts"
import type { SessionTurns } from "./internal/session-metadata.ts"

export class HostRequestError extends Schema.TaggedError<HostRequestError>()("HostRequestError", {
  reason: Schema.Literals(["BodyMissing", "BodyNotJson", "BodyNotObject", "InvalidRequest"]),
  message: Schema.String,
}) {}

/** The request body: an object with a `model`; every other field passes through untouched. */
export const HostBody = Schema.StructWithRest(Schema.Struct({ model: Schema.String }), [
  Schema.Record(Schema.String, Schema.Unknown),
])
export type HostBody = typeof HostBody.Type

/**
 * A decoded host request. The rewrite never changes `body` (it builds the wire body beside it), so the same
 * host request can be prepared once per candidate account.
 */
export interface HostRequest {
  readonly url: string
  readonly method: string
  /** lower-cased names */
  readonly headers: Readonly<Record<string, string>>
  readonly body: HostBody
  /** set when a body memo parsed the body: its frozen `input` items with their text (see `HostBodyMemo`) */
  readonly input?: HostInput | undefined
  /** set when a body memo decoded the request: its sessions' turn metadata, which the rewrite reuses */
  readonly turns?: SessionTurns | undefined
}

/** Whatever `new Headers(...)` accepts. */
export type HeadersLike = ConstructorParameters<typeof Headers>[0]

export interface RawHostRequest {
  readonly url: string | URL
  readonly method?: string | undefined
  readonly headers?: HeadersLike | undefined
  readonly body: string | Uint8Array | ArrayBuffer | null | undefined
}

/** A plain record with lower-cased header names; later duplicates win, like `Headers.set`. */
export const headersToRecord = (headers: HeadersLike | undefined): Record<string, string> => {
  const out: Record<string, string> = {}
  if (headers === undefined) return out
  if (headers instanceof Headers) {
    headers.forEach((value, key) => {
      out[key] = value
    })
  } else if (Array.isArray(headers)) {
    for (const pair of headers) {
      const [key, value] = pair
      if (key !== undefined && value !== undefined) out[key.toLowerCase()] = String(value)
    }
  } else {
    for (const key of Object.keys(headers)) {
      const value = (headers as Record<string, unknown>)[key]
      if (value !== undefined && value !== null) out[key.toLowerCase()] = String(value)
    }
  }
  return out
}

/**
 * What is actually checked on the hot path. URL, method and headers are built as strings by this module
 * itself; the untrusted part is the body, and its extra fields are `unknown` anyway — decoding them through
 * a record schema would only copy the top level of a body we already own.
 */
const BodyShape = Schema.Struct({ model: Schema.String })

const decoder = new TextDecoder()
const decodeBody = Schema.decodeUnknownResult(BodyShape)

/**
 * Parses the body text and decodes the whole request; never throws. With a `memo`, a body that extends an
 * earlier one reuses that body's parsed `input` items (see `HostBodyMemo`).
 */
export const decodeHostRequestResult = (
  raw: RawHostRequest,
  memo?: HostBodyMemo,
): Result.Result<HostRequest, HostRequestError> => {
  const text =
    typeof raw.body === "string"
      ? raw.body
      : raw.body instanceof Uint8Array || raw.body instanceof ArrayBuffer
        ? decoder.decode(raw.body)
        : undefined
  if (text === undefined || text.length === 0) {
    return Result.fail(new HostRequestError({ reason: "BodyMissing", message: "the request has no body" }))
  }
  let json: unknown
  let input: HostInput | undefined
  try {
    if (memo === undefined) json = JSON.parse(text)
    else ({ value: json, input } = memo.parse(text))
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error)
    return Result.fail(new HostRequestError({ reason: "BodyNotJson", message: `the body is not JSON: ${detail}` }))
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    const kind = json === null ? "null" : Array.isArray(json) ? "an array" : typeof json
    return Result.fail(
      new HostRequestError({ reason: "BodyNotObject", message: `the body is ${kind}, not a JSON object` }),
    )
  }
  // the schema only runs to word the error: a string model is all it checks
  const decoded = typeof (json as { model?: unknown }).model === "string" ? undefined : decodeBody(json)
  if (decoded !== undefined && Result.isFailure(decoded)) {
    const detail = decoded.failure.message.replace(/\s+/g, " ")
    return Result.fail(new HostRequestError({ reason: "InvalidRequest", message: `invalid body: ${detail}` }))
  }
  return Result.succeed({
    url: String(raw.url),
    method: (raw.method ?? "POST").toUpperCase(),
    headers: headersToRecord(raw.headers),
    body: json as HostBody,
    input,
    turns: memo?.turns,
  })
}
