/**
 * Text from outside (an account label someone typed or hand-edited, an email or plan from a token, an issuer's
 * `error_description`, a server's message) on its way to a terminal or a dialog: every control character is
 * shown as an escape instead of acting. A raw ESC, BEL or OSC sequence in a label could otherwise move the
 * cursor, retitle the window, or set the clipboard (OSC 52); bidi overrides could make a line read differently
 * from what it holds. Newlines and tabs stay where the text is ours and multi-line (`printable`); in one-line
 * places (`printableLine`) they are escaped too.
 */

/**
 * C0 controls, DEL, C1 controls, the bidi marks, embeddings, overrides and isolates, and the Unicode line and
 * paragraph separators: the characters a terminal acts on or that change how a line reads.
 */
export const isControl = (code: number): boolean =>
  code <= 0x1f ||
  (code >= 0x7f && code <= 0x9f) ||
  code === 0x061c ||
  code === 0x200e ||
  code === 0x200f ||
  (code >= 0x202a && code <= 0x202e) ||
  code === 0x2028 ||
  code === 0x2029 ||
  (code >= 0x2066 && code <= 0x2069)

const NEWLINE = 0x0a
const TAB = 0x09

const escaped = (code: number): string => {
  if (code === NEWLINE) return "\\n"
  if (code === TAB) return "\\t"
  if (code === 0x0d) return "\\r"
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`
}

const escapeWhere = (text: string, keep: (code: number) => boolean, form: (code: number) => string): string => {
  let out = ""
  let from = 0
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i)
    if (!isControl(code) || keep(code)) continue
    out += text.slice(from, i) + form(code)
    from = i + 1
  }
  return from === 0 ? text : out + text.slice(from)
}

const keepBreaks = (code: number) => code === NEWLINE || code === TAB
const keepNone = () => false
const keepJsonEscaped = (code: number) => code <= 0x1f

/** `text` with its control characters escaped; newlines and tabs kept */
export const printable = (text: string): string => escapeWhere(text, keepBreaks, escaped)

/** `text` with every control character escaped, newlines and tabs included: for one-line places */
export const printableLine = (text: string): string => escapeWhere(text, keepNone, escaped)

/**
 * JSON text whose strings may hold characters a terminal acts on (`JSON.stringify` escapes only C0): those as
 * `\uXXXX`, which parses back to the same string.
 */
export const printableJson = (json: string): string =>
  escapeWhere(json, keepJsonEscaped, (code) => `\\u${code.toString(16).padStart(4, "0")}`)

/** whether `text` holds a character `printableLine` would escape */
export const hasControl = (text: string): boolean => {
  for (let i = 0; i < text.length; i++) if (isControl(text.charCodeAt(i))) return true
  return false
}
