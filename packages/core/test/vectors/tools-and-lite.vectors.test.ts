/**
 * Tools, body defaults and the Responses Lite shape: vectors rewritten from the seed's implementation
 * (cortexkit/openai-auth packages/opencode/src/index.ts), other plugins' tests and codex-rs. Each case
 * names its source.
 */
import { describe, expect, test } from "bun:test"
import { call, type Json, output, prepare, user } from "./support.ts"

const CK = "cortexkit/openai-auth packages/opencode/src/index.ts"
const SEED = 'seed README (cortexkit/openai-auth) "Why web_search"'
const IB = "iam-brain/opencode-codex-auth test/codex-native-parallel-tool-calls.test.ts"

const fn = (name: string): Json => ({
  type: "function",
  name,
  description: name,
  parameters: { $schema: "http://json-schema.org/draft-07/schema#", type: "object", properties: {} },
})
const WEB_SEARCH = { type: "web_search", external_web_access: false, search_content_types: ["text", "image"] }

const tools = (body: Json, settings = {}) =>
  prepare({ model: "gpt-5.5", instructions: "x", input: [user("hi")], ...body }, undefined, settings).wire.tools as
    | Array<Json>
    | undefined

describe("function tools in Codex's shape", () => {
  // CK normalizeCodexTool: strict false, no $schema
  test(`${CK} normalizeCodexTool: a function tool goes strict:false without $schema`, () => {
    const [tool] = tools({ tools: [fn("read")] }) ?? []
    expect(tool).toEqual({
      type: "function",
      name: "read",
      description: "read",
      parameters: { type: "object", properties: {} },
      strict: false,
    })
  })

  // CK normalizeCodexTool keeps extras and only touches function tools
  test(`${CK} normalizeCodexTool: a custom tool is left as it is`, () => {
    const custom = { type: "custom", name: "apply_patch", format: { type: "grammar" } }
    expect(tools({ tools: [custom] })?.[0]).toEqual(custom)
  })

  test(`${CK} normalizeCodexTool: a host strict:true becomes strict:false`, () => {
    expect(tools({ tools: [{ ...fn("w"), strict: true }] })?.[0]?.strict).toBe(false)
  })
})

describe("the cache stabilizer", () => {
  // CK maybeInjectCacheStabilizerTool
  test(`${CK} maybeInjectCacheStabilizerTool: function tools get one native web_search at the end`, () => {
    expect(tools({ tools: [fn("a"), fn("b")] })?.at(-1)).toEqual(WEB_SEARCH)
  })

  test(`${CK} maybeInjectCacheStabilizerTool: not when a web_search is there already`, () => {
    expect(tools({ tools: [fn("a"), { type: "web_search" }] })).toHaveLength(2)
  })

  test(`${CK} maybeInjectCacheStabilizerTool: not for a request without tools`, () => {
    expect(tools({})).toBeUndefined()
    expect(tools({ tools: [] })).toEqual([])
  })

  test(`${CK} maybeInjectCacheStabilizerTool: not when the setting is off`, () => {
    expect(tools({ tools: [fn("a")] }, { webSearch: false })).toHaveLength(1)
  })

  // the seed: "adding other native tools (image generation, ...) does not fix it"
  test(`${SEED}: functions mixed with image_generation still get the stabilizer`, () => {
    expect(tools({ tools: [fn("a"), { type: "image_generation" }] })?.map((t) => t.type)).toEqual([
      "function",
      "image_generation",
      "web_search",
    ])
  })

  test(`${SEED}: functions mixed with a custom tool still get the stabilizer`, () => {
    expect(tools({ tools: [fn("a"), { type: "custom", name: "x" }] })?.at(-1)?.type).toBe("web_search")
  })
})

describe("parallel_tool_calls", () => {
  // CK prepareCodexRequest: `parallel_tool_calls ??= true`; IB "prefers catalog parallel tool-call defaults"
  test(`${CK} + ${IB}: left out by the host, it comes from the catalog`, () => {
    expect(prepare({ model: "gpt-5.5", input: [] }).wire.parallel_tool_calls).toBe(true)
  })

  test(`${CK}: the host's own false is kept`, () => {
    expect(prepare({ model: "gpt-5.5", input: [], parallel_tool_calls: false }).wire.parallel_tool_calls).toBe(false)
  })

  test(`${CK} rewriteResponsesLiteBody: forced false for a Lite model`, () => {
    expect(prepare({ model: "gpt-5.6-terra", input: [], parallel_tool_calls: true }).wire.parallel_tool_calls).toBe(
      false,
    )
  })
})

describe("reasoning and text", () => {
  // docs/protocol.md §3.2 / §7: codex-rs sends `ultra` as `max`
  test("openai/codex core client reasoning_effort_for_request: ultra goes as max", () => {
    expect(
      (prepare({ model: "gpt-5.6-sol", input: [], reasoning: { effort: "ultra" } }).wire.reasoning as Json).effort,
    ).toBe("max")
  })

  // numman-ali test/request-transformer.test.ts "should normalize minimal to low for gpt-5.2-codex" (the
  // current models take no `minimal`)
  test("numman-ali/opencode-openai-codex-auth test/request-transformer.test.ts: minimal goes as low", () => {
    expect(
      (prepare({ model: "gpt-5.2", input: [], reasoning: { effort: "minimal" } }).wire.reasoning as Json).effort,
    ).toBe("low")
  })

  // ndycode "should preserve none for GPT-5.4": the third-party matrix; codex-rs models.json lists low..xhigh
  // for gpt-5.4 and codex-rs decides (docs/protocol.md)
  test('ndycode test/request-transformer.test.ts "should preserve none for GPT-5.4": low instead (deviation)', () => {
    expect(
      (prepare({ model: "gpt-5.4", input: [], reasoning: { effort: "none" } }).wire.reasoning as Json).effort,
    ).toBe("low")
  })

  // ccxray#448 reading of codex-rs: a `none` summary is left out, not sent
  test("openai/codex codex-api common.rs Reasoning: a none summary is not sent", () => {
    expect(
      prepare({ model: "gpt-5.5", input: [], reasoning: { effort: "low", summary: "none" } }).wire.reasoning,
    ).toEqual({ effort: "low" })
  })

  test("openai/codex codex-api common.rs Reasoning: an auto summary is kept", () => {
    expect(prepare({ model: "gpt-5.5", input: [], reasoning: { summary: "auto" } }).wire.reasoning).toEqual({
      summary: "auto",
    })
  })

  // codex-rs create_text_param_for_request: verbosity for models with support_verbosity (all of ours)
  test("openai/codex codex-api common.rs create_text_param_for_request: verbosity kept", () => {
    expect(prepare({ model: "gpt-5.5", input: [], text: { verbosity: "low" } }).wire.text).toEqual({ verbosity: "low" })
  })
})

describe("Responses Lite (gpt-5.6)", () => {
  const lite = () =>
    prepare({
      model: "gpt-5.6-sol",
      instructions: "Be exact.",
      tools: [fn("read"), { type: "web_search" }],
      input: [
        user([
          { type: "input_text", text: "look" },
          { type: "input_image", image_url: "data:image/png;base64,AA", detail: "high" },
        ]),
      ],
      reasoning: { effort: "medium", summary: "auto" },
    })

  // CK rewriteResponsesLiteBody; osaurus-ai/osaurus#1983; earendil-works/pi#6516
  test(`${CK} rewriteResponsesLiteBody: tools go into an additional_tools developer item first`, () => {
    const input = lite().wire.input as Array<Json>
    expect(input[0]).toMatchObject({ type: "additional_tools", role: "developer" })
    expect(((input[0] as Json).tools as Array<Json>).map((t) => t.name)).toEqual(["read"])
  })

  test(`${CK} rewriteResponsesLiteBody: instructions become a developer message after it`, () => {
    expect((lite().wire.input as Array<Json>)[1]).toEqual({
      type: "message",
      role: "developer",
      content: [{ type: "input_text", text: "Be exact." }],
    })
  })

  test(`${CK} rewriteResponsesLiteBody: no top-level tools or instructions`, () => {
    const { wire } = lite()
    expect(wire.tools).toBeUndefined()
    expect(wire.instructions).toBeUndefined()
  })

  test(`${CK} rewriteResponsesLiteBody: reasoning replays all turns`, () => {
    expect(lite().wire.reasoning).toEqual({ effort: "medium", summary: "auto", context: "all_turns" })
    expect(prepare({ model: "gpt-5.6-luna", input: [] }).wire.reasoning).toEqual({ context: "all_turns" })
  })

  test(`${CK} stripResponsesLiteImageDetails: image detail hints are removed`, () => {
    const image = (((lite().wire.input as Array<Json>)[2] as Json).content as Array<Json>)[1]
    expect(image).toEqual({ type: "input_image", image_url: "data:image/png;base64,AA" })
  })

  // openai/codex#31870: Lite takes only function, custom and client tool-search tools; no stabilizer
  test("openai/codex#31870: a hosted tool (and the stabilizer) stays off a Lite request", () => {
    const head = (lite().wire.input as Array<Json>)[0]?.tools as Array<Json>
    expect(head.some((t) => t.type === "web_search")).toBe(false)
  })

  test(`${CK} prepareCodexRequest: the Lite header on HTTP`, () => {
    expect(lite().headers["x-openai-internal-codex-responses-lite"]).toBe("true")
    expect(prepare({ model: "gpt-5.5", input: [] }).headers["x-openai-internal-codex-responses-lite"]).toBeUndefined()
  })

  test(`${CK} rewriteResponsesLiteBody: a request without tools still carries an (empty) additional_tools item`, () => {
    expect((prepare({ model: "gpt-5.6-luna", input: [user("t")] }).wire.input as Array<Json>)[0]).toEqual({
      type: "additional_tools",
      role: "developer",
      tools: [],
    })
  })

  test("the Lite shape is stable: a Lite wire body prepared again is the same body", () => {
    const first = lite()
    const again = prepare(first.wire)
    expect(again.body).toBe(first.body)
  })

  test("tool pairing applies after the Lite head: an orphan in a Lite conversation is a message", () => {
    const input = prepare({ model: "gpt-5.6-sol", input: [user("x"), call("c1"), output("c1"), output("c2")] }).wire
      .input as Array<Json>
    expect(input.map((i) => i.type)).toEqual([
      "additional_tools",
      "message",
      "function_call",
      "function_call_output",
      "message",
    ])
  })
})
