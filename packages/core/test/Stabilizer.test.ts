import { describe, expect, test } from "bun:test"
import { stabilizeTools, webSearchTool } from "@cortexkit/openai-auth-core/Stabilizer"
import fc from "fast-check"
import { openCodeTools, titleTurn } from "./fixtures/opencode.ts"

const STABILIZER = { type: "web_search", external_web_access: false, search_content_types: ["text", "image"] }
const fn = (name: string) => ({ type: "function", name, parameters: { type: "object" }, strict: false })

describe("stabilizeTools", () => {
  test.each([
    ["9 OpenCode function tools", openCodeTools(), true, 10, true],
    ["one function tool", [fn("a")], true, 2, true],
    ["disabled by setting", openCodeTools(), false, 9, false],
    ["a native web_search already there", [fn("a"), { type: "web_search" }], true, 2, false],
    ["another native tool present", [fn("a"), { type: "image_generation" }], true, 2, false],
    ["a custom (freeform) tool present", [fn("a"), { type: "custom", name: "apply_patch" }], true, 2, false],
    ["an empty tool list", [], true, 0, false],
  ])("%s", (_, tools, enabled, length, expected) => {
    const body: Record<string, unknown> = { model: "gpt-5.5", tools }
    const added = stabilizeTools(body, enabled)
    expect(body.tools as Array<unknown>).toHaveLength(length)
    expect(added).toBe(expected)
    if (added) expect((body.tools as Array<unknown>).at(-1)).toEqual(STABILIZER)
  })

  test("title turns (no tools) get nothing", () => {
    const body = titleTurn()
    expect(stabilizeTools(body, true)).toBe(false)
    expect(body.tools).toBeUndefined()
  })

  test("webSearchTool returns a fresh object each time", () => {
    const a = webSearchTool()
    expect(a).toEqual(STABILIZER)
    expect(webSearchTool()).not.toBe(a)
  })

  test("property: idempotent, at most one web_search, function tools untouched and in order", () => {
    const arbTool = fc.oneof(
      fc.string({ minLength: 1 }).map(fn),
      fc.constantFrom({ type: "web_search" }, { type: "image_generation" }, { type: "custom", name: "x" }),
    )
    fc.assert(
      fc.property(fc.array(arbTool, { maxLength: 8 }), fc.boolean(), fc.nat(4), (tools, enabled, times) => {
        const original = structuredClone(tools)
        const body: Record<string, unknown> = { tools: structuredClone(tools) }
        stabilizeTools(body, enabled)
        const once = structuredClone(body.tools)
        for (let i = 0; i < times; i++) stabilizeTools(body, enabled)
        expect(body.tools).toEqual(once)
        const out = body.tools as Array<Record<string, unknown>>
        expect(out.slice(0, original.length)).toEqual(original)
        const nativeBefore = original.filter((t) => t.type === "web_search").length
        expect(out.filter((t) => t.type === "web_search").length).toBeLessThanOrEqual(Math.max(1, nativeBefore))
      }),
      { numRuns: 300 },
    )
  })
})
