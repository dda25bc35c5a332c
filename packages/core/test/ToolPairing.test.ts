/**
 * Tool calls always pair on the wire (docs/protocol.md §3.4): whatever the host sends, every tool output
 * answers a call earlier in `input` and every call has its output after it. Judged by our own reading and by
 * the simulator's rules (testkit SimRules, which cite the backend's refusals).
 */
import { describe, expect, test } from "bun:test"
import { refuseInput } from "@cortexkit/openai-auth-testkit/SimRules"
import fc from "fast-check"
import { type Json, prepare } from "./vectors/support.ts"

const CALLS = ["function_call", "custom_tool_call", "local_shell_call"] as const
const OUTPUTS = ["function_call_output", "custom_tool_call_output"] as const
const ANSWERS: Record<string, ReadonlyArray<string>> = {
  function_call_output: ["function_call", "local_shell_call"],
  custom_tool_call_output: ["custom_tool_call"],
}

const arbId = fc.constantFrom("call_a", "call_b", "call_c", "call_d", "", "  ")
const arbItem: fc.Arbitrary<Json> = fc.oneof(
  fc.string({ maxLength: 8 }).map((text) => ({ role: "user", content: text })),
  fc.record({ type: fc.constant("message"), role: fc.constant("assistant"), content: fc.string({ maxLength: 8 }) }),
  fc.record(
    {
      type: fc.constantFrom(...CALLS),
      call_id: arbId,
      name: fc.constant("read"),
      arguments: fc.constant("{}"),
      id: fc.string(),
    },
    { requiredKeys: ["type", "name"] },
  ),
  fc.record(
    { type: fc.constantFrom(...OUTPUTS), call_id: arbId, output: fc.string({ maxLength: 8 }), id: fc.string() },
    { requiredKeys: ["type", "output"] },
  ),
  fc.record({ type: fc.constant("item_reference"), id: fc.string() }),
)

/** Our reading: outputs answer an earlier call of a matching type; calls (with an id) are answered later. */
const orphans = (input: ReadonlyArray<Json>): Array<string> => {
  const problems: Array<string> = []
  input.forEach((item, i) => {
    const type = String(item.type)
    const id = item.call_id
    if (type in ANSWERS) {
      const ok = input.slice(0, i).some((c) => c.call_id === id && (ANSWERS[type] ?? []).includes(String(c.type)))
      if (!ok) problems.push(`output ${i} (${id}) has no call before it`)
    }
    if ((CALLS as ReadonlyArray<string>).includes(type) && typeof id === "string" && id.trim() !== "") {
      const ok = input.slice(i + 1).some((o) => o.call_id === id && (ANSWERS[String(o.type)] ?? []).includes(type))
      if (!ok) problems.push(`call ${i} (${id}) has no output after it`)
    }
  })
  return problems
}

describe("tool calls always pair", () => {
  test("property: for any host input, the wire input has no orphaned output and no call without its output", () => {
    fc.assert(
      fc.property(fc.array(arbItem, { maxLength: 14 }), fc.constantFrom("gpt-5.5", "gpt-5.6-sol"), (input, model) => {
        const wire = prepare({ model, instructions: "x", input }).wire.input as Array<Json>
        const conversation = wire.filter((item) => item.type !== "additional_tools")
        expect(orphans(conversation)).toEqual([])
        // and the backend's judge; items naming no call id pass through unpaired (ndycode "skips calls without
        // call_id"), and what the backend makes of those is not documented, so they are left out of its view
        const named = conversation.filter(
          (item) => !("call_id" in item) || (typeof item.call_id === "string" && item.call_id.trim() !== ""),
        )
        const judged = refuseInput(
          named.filter((item) => !(CALLS as ReadonlyArray<string>).includes(String(item.type)) || "call_id" in item),
        )
        if (judged !== undefined) expect(judged.body).toBeUndefined()
        for (const item of wire) expect("id" in item).toBe(false)
      }),
      { numRuns: 500 },
    )
  })

  test("property: pairing keeps every message's text and every call", () => {
    fc.assert(
      fc.property(fc.array(arbItem, { maxLength: 14 }), (input) => {
        const wire = prepare({ model: "gpt-5.5", instructions: "x", input }).wire.input as Array<Json>
        const calls = (items: ReadonlyArray<Json>) =>
          items.filter((i) => (CALLS as ReadonlyArray<string>).includes(String(i.type))).length
        expect(calls(wire)).toBe(calls(input))
        for (const item of input.filter((i) => i.role === "user"))
          expect(wire.some((w) => w.content === item.content)).toBe(true)
        // an output that did not survive as an output survived as a message carrying its text
        for (const item of input.filter((i) => String(i.type) in ANSWERS)) {
          const kept = wire.some((w) => w.type === item.type && w.call_id === item.call_id && w.output === item.output)
          const asText = wire.some(
            (w) => w.type === "message" && typeof w.content === "string" && w.content.endsWith(`: ${item.output}`),
          )
          expect(kept || asText).toBe(true)
        }
      }),
      { numRuns: 300 },
    )
  })
})
