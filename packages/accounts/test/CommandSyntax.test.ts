import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { parseCommand, splitArguments } from "../src/CommandSyntax.ts"

const parse = (line: string) => {
  const [name = "", ...args] = splitArguments(line)
  return parseCommand(name, args)
}

describe("command syntax", () => {
  test.each([
    ["quota", { _tag: "QuotaShow" }],
    ["account", { _tag: "AccountList" }],
    ["account add", { _tag: "AccountAdd", label: undefined, headless: false }],
    ["account add work", { _tag: "AccountAdd", label: "work", headless: false }],
    ["account switch acct_1", { _tag: "AccountSwitch", account: "acct_1" }],
    ["account remove work", { _tag: "AccountRemove", account: "work" }],
    ["account order a b", { _tag: "AccountOrder", first: "a", second: "b" }],
    ["routing", { _tag: "RoutingShow" }],
    ["routing fallback-first", { _tag: "RoutingSet", mode: "fallback-first" }],
    ["killswitch on", { _tag: "KillswitchEnable", enabled: true }],
    ["killswitch off", { _tag: "KillswitchEnable", enabled: false }],
    [
      "killswitch set main:5,10 alt:2,3",
      { _tag: "KillswitchSet", thresholds: { main: { fiveHour: 5, weekly: 10 }, alt: { fiveHour: 2, weekly: 3 } } },
    ],
    ["cachekeep", { _tag: "CacheKeepShow" }],
    ["cachekeep on", { _tag: "CacheKeepEnable", enabled: true }],
    ["cachekeep subagents off", { _tag: "CacheKeepSubagents", enabled: false }],
    ["logging trace", { _tag: "LoggingSet", level: "trace" }],
    ["dump on", { _tag: "DumpEnable", enabled: true }],
    ["  routing   main-first  ", { _tag: "RoutingSet", mode: "main-first" }],
  ])("%s", (line, command) => {
    expect(parse(line)).toEqual({ ok: true, command } as never)
  })

  test.each([
    ["routing sideways", 'unknown mode "sideways"'],
    ["routing main-first extra", "too many arguments"],
    ["account switch", "exactly one"],
    ["account order a", "two account"],
    ["account fly", 'unknown action "fly"'],
    ["killswitch set main:5", '"main:5" is not'],
    ["killswitch maybe", 'unknown action "maybe"'],
    ["cachekeep subagents", "subagents takes on or off"],
    ["logging loud", 'unknown level "loud"'],
    ["dump maybe", 'unknown action "maybe"'],
    ["quota now", 'unexpected argument "now"'],
    ["nope", 'unknown command "nope"'],
  ])("%s is a usage error", (line, message) => {
    const result = parse(line)
    expect(result.ok).toBe(false)
    if (!result.ok) expect(result.error).toContain(message)
  })

  test("usage errors show the expected form", () => {
    const result = parse("routing x")
    expect(result).toEqual({
      ok: false,
      error: 'unknown mode "x". Usage: routing [main-first | fallback-first]',
    })
  })

  test("any input ends in a command or a usage error, never a throw (property)", () => {
    fc.assert(
      fc.property(
        fc.constantFrom("quota", "account", "routing", "killswitch", "cachekeep", "logging", "dump", "x"),
        fc.array(fc.oneof(fc.string(), fc.constantFrom("on", "off", "set", "add", "subagents", "main:1,2")), {
          maxLength: 5,
        }),
        (name, args) => {
          const result = parseCommand(name, args)
          if (result.ok) expect(typeof result.command._tag).toBe("string")
          else expect(result.error.length).toBeGreaterThan(0)
        },
      ),
      { numRuns: 5000 },
    )
  })
})
