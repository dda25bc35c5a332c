import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { hasControl, isControl, printable, printableJson, printableLine } from "../src/Printable.ts"

describe("Printable", () => {
  test("escape sequences, BEL, DEL, C1 and bidi overrides are shown, not acted on", () => {
    expect(printableLine("\u001b]52;c;ZXZpbA==\u0007x")).toBe("\\x1b]52;c;ZXZpbA==\\x07x")
    expect(printableLine("a\u009bb\u007fc")).toBe("a\\x9bb\\x7fc")
    expect(printableLine("\u202eevil\u2066")).toBe("\\u202eevil\\u2066")
    expect(printableLine("line\nnext\tcol")).toBe("line\\nnext\\tcol")
    expect(printable("line\nnext\tcol\u001b[2J")).toBe("line\nnext\tcol\\x1b[2J")
    expect(printableLine("plain é ✓ 日本")).toBe("plain é ✓ 日本")
    expect(hasControl("ok")).toBe(false)
    expect(hasControl("o\u0000k")).toBe(true)
  })

  test("any text: nothing active is left, and JSON stays the same JSON", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (text) => {
        const line = printableLine(text)
        for (let i = 0; i < line.length; i++) expect(isControl(line.charCodeAt(i))).toBe(false)
        const json = printableJson(JSON.stringify({ text }))
        for (let i = 0; i < json.length; i++) expect(isControl(json.charCodeAt(i))).toBe(false)
        expect(JSON.parse(json).text).toBe(text)
      }),
      { numRuns: 2000 },
    )
  })
})
