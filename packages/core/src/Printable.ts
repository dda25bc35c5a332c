/**
 * Text from outside (an account label someone typed or hand-edited, an email or plan from a token, an issuer's
 * `error_description`, a server's message) on its way to a terminal or a dialog: every control character is
 * shown as an escape instead of acting. A raw ESC, BEL or OSC sequence in a label could otherwise move the
 * cursor, retitle the window, or set the clipboard (OSC 52); bidi overrides could make a line read differently
 * from what it holds. Newlines and tabs stay where the text is ours and multi-line (`printable`); in one-line
 * places (`printableLine`) they are escaped too.
 */

// C0 controls, DEL, C1 controls, bidi embeddings/overrides/isolates and the Unicode line/paragraph separators
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/g
const CONTROL_OR_BREAK = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/g

const escape = (char: string): string => {
  const code = char.charCodeAt(0)
  if (char === "\n") return "\\n"
  if (char === "\t") return "\\t"
  if (char === "\r") return "\\r"
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`
}

/** `text` with its control characters escaped; newlines and tabs kept */
export const printable = (text: string): string => text.replace(CONTROL, escape)

/** `text` with every control character escaped, newlines and tabs included: for one-line places */
export const printableLine = (text: string): string => text.replace(CONTROL_OR_BREAK, escape)

/** JSON text whose strings may hold characters a terminal acts on (JSON.stringify escapes only C0): as `\uXXXX` */
export const printableJson = (json: string): string =>
  json.replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2028\u2029\u2066-\u2069]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  )

const ANY_CONTROL = new RegExp(CONTROL_OR_BREAK.source)

/** whether `text` holds a character `printableLine` would escape */
export const hasControl = (text: string): boolean => ANY_CONTROL.test(text)
