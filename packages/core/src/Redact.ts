/**
 * Secret scrubbing for everything that leaves the process as text (log lines, dumps, error messages).
 * Runs on every log line, so a cheap trigger test short-circuits the common case of text with nothing to hide.
 */
import { Redacted } from "effect"

export const REDACTED = "[REDACTED]"

// Names whose values are secrets: `refresh_token`, `accessToken`, `id_token`, `token`, `client_secret`,
// `password`, `api_key`, `x-api-key`, `authorization`, `set-cookie`, ... but not `max_output_tokens`.
const SECRET_NAME = "[A-Za-z0-9_.-]*?(?:token|secret|password|passwd|api[_-]?key|authorization|cookie|credentials?)"
const SECRET_KEY = new RegExp(`^${SECRET_NAME}$`, "i")

/** Whether a JSON/object key or form/query parameter name holds a secret. */
export const isSecretKey = (key: string): boolean => SECRET_KEY.test(key)

const TRIGGER = /bearer|basic|eyj|sk-|rt_|token|secret|passw|api.?key|authori|cookie|credential/i

interface Rule {
  readonly pattern: RegExp
  readonly replace: string
}

// Order matters: structured forms first so their keys stay readable, scheme values before `key=value` (so
// `authorization=Bearer x` cannot lose only the scheme word), then bare token shapes anywhere.
const RULES: ReadonlyArray<Rule> = [
  // JSON: "refresh_token": "..."
  {
    pattern: new RegExp(`("${SECRET_NAME}"\\s*:\\s*")(?:\\\\.|[^"\\\\])*"`, "gi"),
    replace: `$1${REDACTED}"`,
  },
  // JSON escaped inside a JSON string: \"refresh_token\":\"...\"
  {
    pattern: new RegExp(`(\\\\"${SECRET_NAME}\\\\"\\s*:\\s*\\\\")(?:[^"\\\\]|\\\\(?!"))*\\\\"`, "gi"),
    replace: `$1${REDACTED}\\"`,
  },
  // HTTP header lines: the whole value up to the end of the line
  {
    pattern:
      /(^|[\s{,;'"])((?:proxy-)?authorization|(?:set-)?cookie|x-api-key)(\s*:[ \t]*)(?![ \t]|\[REDACTED\])[^\r\n]+/gim,
    replace: `$1$2$3${REDACTED}`,
  },
  // Authorization schemes wherever they appear
  { pattern: /\b(Bearer)(\s+)(?!\[REDACTED\])[A-Za-z0-9._~+/=-]+/gi, replace: `$1$2${REDACTED}` },
  { pattern: /\b(Basic)(\s+)[A-Za-z0-9+/]{8,}={0,2}/g, replace: `$1$2${REDACTED}` },
  // key=value (query strings, form bodies, env dumps) and `key: value`
  {
    pattern: new RegExp(`(^|[^A-Za-z0-9_.-])(${SECRET_NAME})(\\s*[=:]\\s*)(?!\\[REDACTED\\])([^\\s&,;"'<>]+)`, "gi"),
    replace: `$1$2$3${REDACTED}`,
  },
  // JWTs: three base64url segments, the header starting `eyJ` (`{"`); the signature may be empty (alg none)
  { pattern: /eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, replace: REDACTED },
  // OpenAI API keys (sk-..., sk-proj-...)
  { pattern: /(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{8,}/g, replace: REDACTED },
  // OpenAI refresh tokens
  { pattern: /(?<![A-Za-z0-9])rt_[A-Za-z0-9._-]{8,}/g, replace: REDACTED },
]

/** `text` with bearer values, JWTs, API keys, refresh tokens and secret-named values replaced by [REDACTED]. */
export const redact = (text: string): string => {
  if (!TRIGGER.test(text)) return text
  let out = text
  for (const rule of RULES) out = out.replace(rule.pattern, rule.replace)
  return out
}

const MAX_DEPTH = 8

const redactError = (error: Error, seen: WeakSet<object>, depth: number): Record<string, unknown> => {
  const out: Record<string, unknown> = { name: error.name, message: redact(error.message) }
  for (const [key, inner] of Object.entries(error)) {
    if (key === "message" || key === "stack") continue
    out[key] = isSecretKey(key) && inner != null ? REDACTED : walk(inner, seen, depth + 1)
  }
  if (error.cause !== undefined && !("cause" in out)) out.cause = walk(error.cause, seen, depth + 1)
  return out
}

const walk = (value: unknown, seen: WeakSet<object>, depth: number): unknown => {
  switch (typeof value) {
    case "string":
      return redact(value)
    case "number":
    case "boolean":
    case "undefined":
      return value
    case "bigint":
      return value.toString()
    case "symbol":
      return value.toString()
    case "function":
      return `[Function ${value.name || "anonymous"}]`
  }
  if (value === null) return null
  const object = value as object
  if (Redacted.isRedacted(object)) return REDACTED
  if (seen.has(object)) return "[Circular]"
  if (depth >= MAX_DEPTH) return "[Truncated]"
  if (object instanceof Date) return Number.isNaN(object.getTime()) ? "Invalid Date" : object.toISOString()
  if (object instanceof Uint8Array) return `[${object.byteLength} bytes]`
  seen.add(object)
  try {
    if (Array.isArray(object)) return object.map((item) => walk(item, seen, depth + 1))
    if (object instanceof Error) return redactError(object, seen, depth)
    if (object instanceof Map) {
      const out: Record<string, unknown> = {}
      for (const [key, inner] of object) {
        const name = redact(String(key))
        out[name] = isSecretKey(name) && inner != null ? REDACTED : walk(inner, seen, depth + 1)
      }
      return out
    }
    if (object instanceof Set) return Array.from(object, (item) => walk(item, seen, depth + 1))
    const out: Record<string, unknown> = {}
    for (const [key, inner] of Object.entries(object)) {
      out[redact(key)] = isSecretKey(key) && inner != null ? REDACTED : walk(inner, seen, depth + 1)
    }
    return out
  } finally {
    seen.delete(object)
  }
}

/**
 * A JSON-safe deep copy of `value` with secrets removed: `Redacted` values and secret-named keys become
 * [REDACTED], strings go through `redact`, Errors become `{ name, message, ...fields }`, bigints strings,
 * cycles "[Circular]".
 */
export const redactValue = (value: unknown): unknown => walk(value, new WeakSet(), 0)
