/** Hostile argv for the `openai-auth` CLI: every input is a request or a usage error that says what to run. */
import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { fuzz } from "../../../core/test/reliability/fuzz.ts"
import { helpText, parseArgs, USAGE } from "../../src/cli/Args.ts"

const words = [
  ...Object.keys(USAGE),
  "help",
  "--help",
  "-h",
  "--json",
  "--headless",
  "--label",
  "--label=",
  "--label=work",
  "-",
  "--",
  "on",
  "off",
  "set",
  "main-first",
  "fallback-first",
  "debug",
  "acct_1",
  "*:50,80",
  "__proto__",
  "constructor",
  "",
]

describe("fuzz: CLI arguments", () => {
  test("parseArgs: any argv ends in a request or a usage error naming the fix, never a throw", () => {
    fuzz(
      "cli/Args.parseArgs",
      fc.array(
        fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...words) }, fc.string({ unit: "grapheme", maxLength: 12 })),
        { maxLength: 6 },
      ),
      (argv) => {
        const parsed = parseArgs(argv)
        if (!parsed.ok) {
          expect(parsed.error).toMatch(/Usage: openai-auth |Run "openai-auth --help" for usage/)
          return "error"
        }
        if (parsed.request._tag === "Help") expect(helpText(parsed.request.topic).length).toBeGreaterThan(0)
        return "value"
      },
      { numRuns: 5000 },
    )
  }, 120_000)
})
