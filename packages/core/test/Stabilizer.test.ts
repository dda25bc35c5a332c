import { describe, expect, test } from "bun:test"
import { webSearchTool, withStabilizer } from "@cortexkit/openai-auth-core/Stabilizer"
import fc from "fast-check"
import { openCodeTools } from "./fixtures/opencode.ts"

const STABILIZER = { type: "web_search", external_web_access: false, search_content_types: ["text", "image"] }
const fn = (name: string) => ({ type: "function", name, parameters: { type: "object" }, strict: false })

describe("withStabilizer", () => {
  test.each([
    ["9 OpenCode function tools", openCodeTools(), true, 10, true],
    ["one function tool", [fn("a")], true, 2, true],
    ["disabled by setting", openCodeTools(), false, 9, false],
    ["a native web_search already there", [fn("a"), { type: "web_search" }], true, 2, false],
    ["a web_search_preview already there", [fn("a"), { type: "web_search_preview" }], true, 2, false],
    // the seed README: other native tools do not fix the cache cliff, only web_search does
    ["functions mixed with another native tool", [fn("a"), { type: "image_generation" }], true, 3, true],
    [
      "functions mixed with a custom (freeform) tool",
      [fn("a"), { type: "custom", name: "apply_patch" }],
      true,
      3,
      true,
    ],
    ["an empty tool list", [], true, 0, false],
  ])("%s", (_, tools, enabled, length, expected) => {
    const before = structuredClone(tools)
    const out = withStabilizer(tools, enabled)
    expect(out).toHaveLength(length)
    expect(out !== tools).toBe(expected)
    expect(tools).toEqual(before)
    if (expected) expect(out.at(-1)).toEqual(STABILIZER)
  })

  test("webSearchTool returns a fresh object each time", () => {
    const a = webSearchTool()
    expect(a).toEqual(STABILIZER)
    expect(webSearchTool()).not.toBe(a)
  })

  test("property: idempotent, at most one web_search added, the host's tools untouched and in order", () => {
    const arbTool = fc.oneof(
      fc.string({ minLength: 1 }).map(fn),
      fc.constantFrom({ type: "web_search" }, { type: "image_generation" }, { type: "custom", name: "x" }),
    )
    fc.assert(
      fc.property(fc.array(arbTool, { maxLength: 8 }), fc.boolean(), (tools, enabled) => {
        const once = withStabilizer(tools, enabled)
        expect(withStabilizer(once, enabled)).toEqual(once)
        expect(once.slice(0, tools.length)).toEqual(tools)
        const before = tools.filter((t) => t.type === "web_search").length
        const after = once.filter((t) => (t as { type: string }).type === "web_search").length
        expect(after).toBe(before + (enabled && tools.length > 0 && before === 0 ? 1 : 0))
      }),
      { numRuns: 300 },
    )
  })
})
