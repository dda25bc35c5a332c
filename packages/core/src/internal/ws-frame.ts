/**
 * The WebSocket transport's `response.create` frame for a wire body (docs/protocol.md §6): the HTTP body
 * with a `type`, without `background`, and, for a Responses Lite model, the Lite flag that HTTP sends as a
 * header carried in `client_metadata` instead (a socket's headers are fixed at the handshake; codex-rs
 * names the key `ws_request_header_x_openai_internal_codex_responses_lite`).
 */
import { catalogModel } from "../Models.ts"

const WS_LITE_METADATA_KEY = "ws_request_header_x_openai_internal_codex_responses_lite"

const FRAME_HEAD = '{"type":"response.create"'

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The frame text. `text`, when given, must be exactly `JSON.stringify(json)` (a prepared body's text): the
 * frame is then cut from it instead of serialising a large body again.
 */
export const responseCreateFrame = (json: Readonly<Json>, text?: string): string => {
  const lite = typeof json.model === "string" && catalogModel(json.model)?.responsesLite === true
  if (text !== undefined && text.length > 2 && !("type" in json) && !("background" in json)) {
    if (!lite) return `${FRAME_HEAD},${text.slice(1)}`
    const cut = liteCut(json, text)
    if (cut !== undefined) return cut
  }
  const { background: _, type: __, ...fields } = json
  const rest: Json = fields
  if (lite) {
    const metadata = isObject(rest.client_metadata) ? rest.client_metadata : {}
    rest.client_metadata = { ...metadata, [WS_LITE_METADATA_KEY]: "true" }
  }
  // written out rather than spread into an object: an integer-like key would jump ahead of `type`
  const body = JSON.stringify(rest)
  return body === "{}" ? `${FRAME_HEAD}}` : `${FRAME_HEAD},${body.slice(1)}`
}

/** The Lite frame from `text`, rewriting only its `client_metadata` member, when that member is where expected. */
const liteCut = (json: Readonly<Json>, text: string): string | undefined => {
  const keys = Object.keys(json)
  const at = keys.indexOf("client_metadata")
  const metadata = json.client_metadata
  if (at < 0 || !isObject(metadata)) return undefined
  let tail = ""
  for (const key of keys.slice(at + 1)) {
    const value = JSON.stringify(json[key])
    if (value !== undefined) tail += `,${JSON.stringify(key)}:${value}`
  }
  const member = `"client_metadata":${JSON.stringify(metadata)}`
  const suffix = `${member}${tail}}`
  if (!text.endsWith(suffix) || text.length - suffix.length < 2) return undefined
  const wsMember = `"client_metadata":${JSON.stringify({ ...metadata, [WS_LITE_METADATA_KEY]: "true" })}`
  return `${FRAME_HEAD},${text.slice(1, text.length - suffix.length)}${wsMember}${tail}}`
}
