import { describe, expect, test } from "bun:test"
import fc from "fast-check"
import { chainAfter, createFrame, planRequest } from "../src/WsChain.ts"

const user = (text: string) => ({ type: "message", role: "user", content: [{ type: "input_text", text }] })
const base = { model: "gpt-5.5", instructions: "Be brief.", tools: [], store: false, stream: true }
const answer = {
  id: "msg_1",
  type: "message",
  status: "completed",
  role: "assistant",
  content: [{ type: "output_text", text: "Hi" }],
}
const answerAsSentBack = { type: "message", role: "assistant", content: [{ type: "output_text", text: "Hi" }] }
const call = { id: "fc_1", type: "function_call", status: "completed", call_id: "c1", name: "ls", arguments: "{}" }
const callBack = { type: "function_call", call_id: "c1", name: "ls", arguments: "{}" }
const callOutput = { type: "function_call_output", call_id: "c1", output: "a.txt" }

describe("WsChain.planRequest", () => {
  const first = { ...base, input: [user("q1")] }

  test("previous input + produced items + new items -> only the new items with previous_response_id", () => {
    const chain = chainAfter(first, "resp_1", [answer])
    const next = { ...base, input: [user("q1"), answerAsSentBack, user("q2")] }
    const plan = planRequest(next, chain)
    expect(plan.chained).toBe(true)
    expect(plan.json.input).toEqual([user("q2")])
    expect(plan.json.previous_response_id).toBe("resp_1")
    // every other field stays as it was, in order
    expect(Object.keys(plan.json)).toEqual([...Object.keys(next), "previous_response_id"])
  })

  test("a finalized function call is trimmed; its output is the new item", () => {
    const chain = chainAfter(first, "resp_1", [call])
    const plan = planRequest({ ...base, input: [user("q1"), callBack, callOutput] }, chain)
    expect(plan.chained).toBe(true)
    expect(plan.json.input).toEqual([callOutput])
  })

  test("items sent back as OpenCode does (own key order, no message type, no empty annotations) still chain", () => {
    const reasoning = {
      id: "rs_1",
      type: "reasoning",
      summary: [{ type: "summary_text", text: "Hm" }],
      encrypted_content: "enc",
    }
    const spoken = { ...answer, content: [{ type: "output_text", text: "Hi", annotations: [] }] }
    const chain = chainAfter(first, "resp_1", [reasoning, call, spoken])
    // what the AI SDK replays: the same items, keys in its own order, without the server's defaults
    const replayed = [
      { type: "reasoning", encrypted_content: "enc", summary: [{ type: "summary_text", text: "Hm" }] },
      { type: "function_call", call_id: "c1", arguments: "{}", name: "ls" },
      { role: "assistant", content: [{ type: "output_text", text: "Hi" }] },
    ]
    const plan = planRequest({ ...base, input: [user("q1"), ...replayed, user("q2")] }, chain)
    expect(plan.chained).toBe(true)
    expect(plan.json.input).toEqual([user("q2")])
    // a different text, reasoning or argument is a different conversation: full request
    const edits = [
      [replayed[0], replayed[1], { role: "assistant", content: [{ type: "output_text", text: "Ho" }] }],
      [{ ...replayed[0], encrypted_content: "other" }, replayed[1], replayed[2]],
      [replayed[0], { ...replayed[1], arguments: '{"a":1}' }, replayed[2]],
      [replayed[0], replayed[1], { role: "user", content: [{ type: "output_text", text: "Hi" }] }],
      [replayed[0], replayed[1], { ...replayed[2], content: [{ type: "output_text", text: "Hi", annotations: [{}] }] }],
    ]
    for (const edited of edits) {
      expect(planRequest({ ...base, input: [user("q1"), ...edited, user("q2")] }, chain).chained).toBe(false)
    }
  })

  test("a function call the response never finalized is not trimmed: it is resent with the new items", () => {
    // the stream died before output_item.done for the call: the chain recorded no output
    const chain = chainAfter(first, "resp_1", [])
    const plan = planRequest({ ...base, input: [user("q1"), callBack, callOutput] }, chain)
    expect(plan.chained).toBe(true)
    // the unfinalized call travels with the new items, so its output never orphans
    expect(plan.json.input).toEqual([callBack, callOutput])
  })

  test("full request when a non-input field differs, input diverges, or nothing is new", () => {
    const chain = chainAfter(first, "resp_1", [answer])
    const next = [user("q1"), answerAsSentBack, user("q2")]
    expect(planRequest({ ...base, instructions: "Other.", input: next }, chain).chained).toBe(false)
    expect(planRequest({ ...base, tools: [{ type: "function", name: "x" }], input: next }, chain).chained).toBe(false)
    expect(planRequest({ ...base, input: [user("edited"), answerAsSentBack, user("q2")] }, chain).chained).toBe(false)
    expect(planRequest({ ...base, input: [user("q1"), answerAsSentBack] }, chain).chained).toBe(false)
    expect(planRequest({ ...base, input: next }, undefined).chained).toBe(false)
    // key order is part of the bytes
    const { model, instructions, ...rest } = base
    expect(planRequest({ instructions, model, ...rest, input: next }, chain).chained).toBe(false)
  })

  test("property: a chained plan always reconstructs the full input server-side", () => {
    const item = fc.record({
      type: fc.constant("message"),
      role: fc.constantFrom("user", "assistant"),
      text: fc.string(),
    })
    fc.assert(
      fc.property(fc.array(item), fc.array(item), fc.array(item), (previous, produced, added) => {
        const chain = chainAfter({ ...base, input: previous }, "resp_p", produced)
        const json = { ...base, input: [...previous, ...produced, ...added] }
        const plan = planRequest(json, chain)
        if (added.length === 0) return !plan.chained
        if (!plan.chained) return false
        return (
          JSON.stringify([...previous, ...produced, ...(plan.json.input as Array<unknown>)]) ===
          JSON.stringify(json.input)
        )
      }),
    )
  })

  test("createFrame adds the type and drops background", () => {
    const frame = JSON.parse(createFrame({ ...base, background: true, input: [] }))
    expect(frame.type).toBe("response.create")
    expect(frame.background).toBeUndefined()
    expect(frame.stream).toBe(true)
  })
})
