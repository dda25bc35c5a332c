/** Small HTTP helpers shared by the simulator's route handlers. */

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } })

export const headersOf = (request: Request): Record<string, string> => {
  const out: Record<string, string> = {}
  request.headers.forEach((value, key) => {
    out[key.toLowerCase()] = value
  })
  return out
}

export interface ParsedBody {
  readonly kind: "json" | "form" | "text" | "empty"
  readonly value: unknown
}

/** JSON when it parses as JSON, a string map for form bodies, raw text otherwise */
export const readBody = async (request: Request): Promise<ParsedBody> => {
  const text = await request.text()
  if (text.length === 0) return { kind: "empty", value: undefined }
  const type = request.headers.get("content-type") ?? ""
  if (type.includes("application/x-www-form-urlencoded")) {
    return { kind: "form", value: Object.fromEntries(new URLSearchParams(text)) }
  }
  try {
    return { kind: "json", value: JSON.parse(text) }
  } catch {
    return { kind: "text", value: text }
  }
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

export const str = (value: unknown): string | undefined => (typeof value === "string" ? value : undefined)
