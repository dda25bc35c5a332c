/**
 * Request-body vectors ported (rewritten) from other implementations' public tests. Each case names its
 * source repository, file and test; where the sources disagree, docs/protocol.md's table says which one we
 * follow and why, and the case asserts our choice.
 */
import { describe, expect, test } from "bun:test"
import { call, type Json, output, prepare, user, wireInput } from "./support.ts"

const NA = "numman-ali/opencode-openai-codex-auth test/request-transformer.test.ts"
const ND_UTILS = "ndycode/opencode-openai-codex-auth-multiaccount test/input-utils.test.ts"
const ND_RT = "ndycode/opencode-openai-codex-auth-multiaccount test/request-transformer.test.ts"
const IB = "iam-brain/opencode-codex-auth test/compat-sanitizer.test.ts"
const CX = "openai/codex codex-rs/core/src/context_manager/history_tests.rs"

describe("item ids are never sent (store:false)", () => {
  // NA: "filterInput › should keep items without IDs unchanged"
  test(`${NA}: an item without an id is unchanged`, () => {
    expect(wireInput([user("hello")])).toEqual([user("hello")])
  })

  // NA: "filterInput › should remove ALL message IDs (rs_, msg_, etc.) for store:false compatibility"
  test(`${NA}: rs_, msg_ and other ids are all removed, every item kept`, () => {
    const input = [
      { id: "rs_123", type: "message", role: "assistant", content: "hello" },
      { id: "msg_456", type: "message", role: "user", content: "world" },
      { id: "assistant_789", type: "message", role: "assistant", content: "test" },
    ]
    const out = wireInput(input)
    expect(out.map((i) => i.content)).toEqual(["hello", "world", "test"])
    for (const item of out) expect("id" in item).toBe(false)
  })

  // NA: "filterInput › should strip ID field but preserve all other properties"
  test(`${NA}: only the id goes, other properties stay`, () => {
    const out = wireInput([
      { id: "msg_123", type: "message", role: "user", content: "test", metadata: { some: "data" } },
    ])
    expect(out).toEqual([{ type: "message", role: "user", content: "test", metadata: { some: "data" } }])
  })

  // NA: "filterInput › should handle mixed items with and without IDs"
  test(`${NA}: mixed items`, () => {
    const out = wireInput([
      user("1"),
      { id: "rs_stored", type: "message", role: "assistant", content: "2" },
      { ...user("3"), id: "msg_123" },
    ])
    expect(out).toEqual([user("1"), { type: "message", role: "assistant", content: "2" }, user("3")])
  })

  // NA: "filterInput › should handle custom ID formats (future-proof)"
  test(`${NA}: custom id formats`, () => {
    const out = wireInput([
      { ...user("test"), id: "custom_id_format" },
      { ...user("test2"), id: "another-format-123" },
    ])
    expect(out).toEqual([user("test"), user("test2")])
  })

  // NA: "filterInput › should handle empty array"
  test(`${NA}: an empty input stays empty`, () => {
    expect(wireInput([])).toEqual([])
  })

  // NA: "Scenario 5: Message ID filtering with multi-turn › should remove ALL IDs in multi-turn conversation"
  test(`${NA}: every id of a multi-turn conversation`, () => {
    const input = [
      { id: "msg_1", ...user("first") },
      { id: "rs_1", type: "reasoning", summary: [], encrypted_content: "enc" },
      { id: "msg_2", type: "message", role: "assistant", content: "reply" },
      { id: "msg_3", ...user("second") },
    ]
    for (const item of wireInput(input)) expect("id" in item).toBe(false)
  })

  // ND: "filterInput › should default missing function_call arguments to an empty JSON object"
  test(`${ND_RT}: a function call without arguments (missing or null) replays with "{}"`, () => {
    const input = [
      { type: "function_call", call_id: "call_missing", name: "read_file" },
      output("call_missing"),
      { type: "function_call", call_id: "call_null", name: "list_files", arguments: null },
      output("call_null"),
      { type: "function_call", call_id: "call_present", name: "write_file", arguments: '{"path":"README.md"}' },
      output("call_present"),
    ]
    const calls = wireInput(input).filter((i) => i.type === "function_call")
    expect(calls.map((c) => c.arguments)).toEqual(["{}", "{}", '{"path":"README.md"}'])
  })
})

describe("required fields and dropped parameters", () => {
  // NA: "transformRequestBody › should set required Codex fields"
  test(`${NA}: store false, stream true, instructions a string`, () => {
    const { wire } = prepare({ model: "gpt-5.5", input: [] })
    expect(wire).toMatchObject({ store: false, stream: true, instructions: "" })
  })

  // NA: "transformRequestBody › preserves existing prompt_cache_key passed by host (OpenCode)"
  test(`${NA}: the host's prompt_cache_key is kept`, () => {
    expect(prepare({ model: "gpt-5.5", input: [], prompt_cache_key: "ses_host_key_123" }).wire.prompt_cache_key).toBe(
      "ses_host_key_123",
    )
  })

  // NA: "transformRequestBody › leaves prompt_cache_key unset when host does not supply one"
  // We differ (docs/protocol.md): the seed's implementation always sends the session's key; without one
  // from the host the key comes from its session headers.
  test(`${NA}: without a host key the session header becomes the key (deviation)`, () => {
    expect(prepare({ model: "gpt-5.5", input: [] }, { "session-id": "ses_h" }).wire.prompt_cache_key).toBe("ses_h")
  })

  // NA: "should set default include for encrypted reasoning"
  test(`${NA}: include defaults to encrypted reasoning`, () => {
    expect(prepare({ model: "gpt-5.5", input: [] }).wire.include).toEqual(["reasoning.encrypted_content"])
  })

  // NA: "should always include reasoning.encrypted_content when include provided"
  test(`${NA}: encrypted reasoning is added to the host's include`, () => {
    expect(prepare({ model: "gpt-5.5", input: [], include: ["custom_field"] }).wire.include).toEqual([
      "custom_field",
      "reasoning.encrypted_content",
    ])
  })

  // NA: "should use user-configured include"
  test(`${NA}: an include that has it already is kept as is`, () => {
    const include = ["custom_field", "reasoning.encrypted_content"]
    expect(prepare({ model: "gpt-5.5", input: [], include }).wire.include).toEqual(include)
  })

  // NA: "should remove unsupported parameters"
  test(`${NA}: max_output_tokens and max_completion_tokens go`, () => {
    const { wire } = prepare({ model: "gpt-5.5", input: [], max_output_tokens: 1000, max_completion_tokens: 2000 })
    expect(wire.max_output_tokens).toBeUndefined()
    expect(wire.max_completion_tokens).toBeUndefined()
  })

  // ND: "should preserve max_output_tokens while removing max_completion_tokens" — the live backend refuses
  // max_output_tokens (docs/protocol.md §3.3), so we drop it (deviation from ND)
  test(`${ND_RT}: max_output_tokens is dropped too (deviation)`, () => {
    expect(prepare({ model: "gpt-5.5", input: [], max_output_tokens: 1000 }).wire.max_output_tokens).toBeUndefined()
  })

  // ND: "should preserve newer Responses passthrough fields" — previous_response_id, metadata, truncation and
  // service_tier "auto" are refused or meaningless with store:false (§3.3, §3.4); tool_choice and
  // parallel_tool_calls pass through
  test(`${ND_RT}: passthrough fields: the refused ones go, tool_choice and parallel_tool_calls stay`, () => {
    const { wire } = prepare({
      model: "gpt-5.5",
      input: [],
      previous_response_id: "resp_123",
      parallel_tool_calls: true,
      service_tier: "auto",
      metadata: { source: "test-suite" },
      tool_choice: "auto",
      truncation: "auto",
    })
    expect(wire.previous_response_id).toBeUndefined()
    expect(wire.metadata).toBeUndefined()
    expect(wire.truncation).toBeUndefined()
    expect(wire.service_tier).toBeUndefined()
    expect(wire.tool_choice).toBe("auto")
    expect(wire.parallel_tool_calls).toBe(true)
  })

  // docs/protocol.md §3.3 (askalf/dario#1009): every sampling parameter is refused
  test.each(["temperature", "top_p", "presence_penalty", "frequency_penalty", "seed", "top_logprobs", "user"])(
    "dario#1009 (docs/protocol.md §3.3): %s is not sent",
    (field) => {
      expect(prepare({ model: "gpt-5.5", input: [], [field]: 1 }).wire[field]).toBeUndefined()
    },
  )
})

describe("tool calls always pair", () => {
  // NA: "should convert orphaned function_call_output to message to preserve context"
  test(`${NA}: an orphaned function_call_output becomes an assistant message keeping its text`, () => {
    const out = wireInput([
      user("hello"),
      { type: "function_call_output", call_id: "orphan_call", name: "read", output: "{}" },
    ])
    expect(out).toHaveLength(2)
    expect(out[1]).toEqual({
      type: "message",
      role: "assistant",
      content: "[Previous read result; call_id=orphan_call]: {}",
    })
  })

  // NA: "should keep matched function_call pairs when no tools present (for compaction)"
  test(`${NA}: a matched pair stays without tools`, () => {
    const { wire } = prepare({
      model: "gpt-5.5",
      instructions: "x",
      input: [user("hello"), call("call_1", "write"), output("call_1", "success")],
    })
    expect(wire.tools).toBeUndefined()
    expect((wire.input as Array<Json>).map((i) => i.type)).toEqual(["message", "function_call", "function_call_output"])
  })

  // NA: "should treat local_shell_call as a match for function_call_output"
  test(`${NA}: a local_shell_call is answered by a function_call_output`, () => {
    const shell = { type: "local_shell_call", call_id: "shell_call", action: { type: "exec", command: ["ls"] } }
    const out = wireInput([user("hello"), shell, output("shell_call")])
    expect(out.map((i) => i.type)).toEqual(["message", "local_shell_call", "function_call_output"])
  })

  // NA: "should keep matching custom_tool_call_output items"
  test(`${NA}: a custom tool call and its output stay`, () => {
    const input = [
      user("hello"),
      { type: "custom_tool_call", call_id: "custom_call", name: "mcp_tool", input: "{}" },
      { type: "custom_tool_call_output", call_id: "custom_call", output: "done" },
    ]
    expect(wireInput(input).map((i) => i.type)).toEqual(["message", "custom_tool_call", "custom_tool_call_output"])
  })

  // NA: "should convert orphaned custom_tool_call_output to message"
  test(`${NA}: an orphaned custom_tool_call_output becomes a message`, () => {
    const out = wireInput([
      user("hello"),
      { type: "custom_tool_call_output", call_id: "orphan_custom", output: "oops" },
    ])
    expect(out[1]).toEqual({
      type: "message",
      role: "assistant",
      content: "[Previous tool result; call_id=orphan_custom]: oops",
    })
  })

  // ND: "injectMissingToolOutputs › passes through input with no function_calls"
  test(`${ND_UTILS}: messages only pass through`, () => {
    const input = [user("Hello"), { type: "message", role: "assistant", content: "Hi there" }]
    expect(wireInput(input)).toEqual(input)
  })

  // ND: "injectMissingToolOutputs › passes through function_call with matching output"
  test(`${ND_UTILS}: a call with its output passes through`, () => {
    expect(wireInput([call("call_1", "test"), output("call_1", "result")]).map((i) => i.type)).toEqual([
      "function_call",
      "function_call_output",
    ])
  })

  // ND: "injects output for orphaned function_call" — ND's text is "Operation cancelled by user"; we follow
  // codex-rs (normalize_adds_missing_output_for_function_call): "aborted"
  test(`${ND_UTILS} + ${CX}: a call without output gets codex-rs's "aborted" output`, () => {
    const out = wireInput([user("run the tool"), call("call_orphan", "read_file")])
    expect(out).toHaveLength(3)
    expect(out[2]).toEqual({ type: "function_call_output", call_id: "call_orphan", output: "aborted" })
  })

  // ND: "injects output for orphaned local_shell_call" (ND: local_shell_call_output); codex-rs
  // normalize_adds_missing_output_for_local_shell_call_with_id answers it with a function_call_output
  test(`${ND_UTILS} + ${CX}: an interrupted local shell call gets a function_call_output`, () => {
    const out = wireInput([{ type: "local_shell_call", call_id: "shell_1", action: { type: "exec", command: ["ls"] } }])
    expect(out[1]).toEqual({ type: "function_call_output", call_id: "shell_1", output: "aborted" })
  })

  // ND: "injects output for orphaned custom_tool_call"; codex-rs normalize_adds_missing_output_for_custom_tool_call
  test(`${ND_UTILS} + ${CX}: an interrupted custom tool call gets a custom_tool_call_output`, () => {
    const out = wireInput([{ type: "custom_tool_call", call_id: "custom_1", name: "my_tool", input: "x" }])
    expect(out[1]).toEqual({ type: "custom_tool_call_output", call_id: "custom_1", output: "aborted" })
  })

  // ND: "handles multiple orphaned calls"
  test(`${ND_UTILS}: three interrupted calls get three outputs`, () => {
    const out = wireInput([call("call_1", "tool1"), call("call_2", "tool2"), call("call_3", "tool3")])
    expect(out).toHaveLength(6)
    expect(out.filter((i) => i.type === "function_call_output")).toHaveLength(3)
  })

  // ND: "only injects for calls without outputs"
  test(`${ND_UTILS}: only the call without output gets one`, () => {
    const out = wireInput([call("call_with_output"), output("call_with_output", "done"), call("call_without_output")])
    expect(out).toHaveLength(4)
    expect(out.filter((i) => i.type === "function_call_output")).toHaveLength(2)
  })

  // ND: "skips calls without call_id"
  test(`${ND_UTILS}: a call without call_id gets nothing`, () => {
    expect(wireInput([{ type: "function_call", name: "no_id_tool", arguments: "{}" }])).toHaveLength(1)
  })

  // ND: "places injected output immediately after the call"
  test(`${ND_UTILS}: each injected output right after its call`, () => {
    const out = wireInput([
      user("start"),
      call("call_A", "toolA"),
      user("middle"),
      call("call_B", "toolB"),
      user("end"),
    ])
    expect(out.map((i) => `${i.type}${i.call_id === undefined ? "" : `:${i.call_id}`}`)).toEqual([
      "message",
      "function_call:call_A",
      "function_call_output:call_A",
      "message",
      "function_call:call_B",
      "function_call_output:call_B",
      "message",
    ])
  })

  // ND: "normalizeOrphanedToolOutputs › converts orphaned function_call_output to message"
  test(`${ND_UTILS}: an orphaned output alone becomes an assistant message`, () => {
    const out = wireInput([
      { type: "function_call_output", role: "tool", call_id: "orphan_call", output: "some result" },
    ])
    expect(out).toEqual([
      { type: "message", role: "assistant", content: "[Previous tool result; call_id=orphan_call]: some result" },
    ])
  })

  // ND: "converts orphaned local_shell_call_output to message"
  test(`${ND_UTILS}: an orphaned local_shell_call_output becomes a message`, () => {
    const out = wireInput([{ type: "local_shell_call_output", call_id: "orphan_shell", output: "shell result" }])
    expect(out[0]).toMatchObject({ type: "message", role: "assistant" })
  })

  // ND: "preserves local_shell_call_output with matching local_shell_call"
  test(`${ND_UTILS}: a local_shell_call_output after its call stays`, () => {
    const input = [
      { type: "local_shell_call", call_id: "shell_matched", action: { type: "exec", command: ["ls"] } },
      { type: "local_shell_call_output", call_id: "shell_matched", output: "files" },
    ]
    expect(wireInput(input).map((i) => i.type)).toEqual(["local_shell_call", "local_shell_call_output"])
  })

  // ND: "truncates very long output content" — we keep all of it (the issue: "keeps its text"; deviation)
  test(`${ND_UTILS}: a long orphaned output keeps all its text (deviation)`, () => {
    const long = "x".repeat(20_000)
    const out = wireInput([output("orphan_long", long)])
    expect(out[0]?.content).toBe(`[Previous tool result; call_id=orphan_long]: ${long}`)
  })

  // ND: "handles non-string output by converting to JSON"
  test(`${ND_UTILS}: a non-string orphaned output is kept as JSON`, () => {
    const out = wireInput([output("orphan_obj", { key: "value" } as never)])
    expect(out[0]?.content).toBe('[Previous tool result; call_id=orphan_obj]: {"key":"value"}')
  })

  // ND: "combined normalization flow › handles both orphaned calls and outputs"; codex-rs
  // normalize_mixed_inserts_and_removals (codex-rs removes the orphan; we keep its text as a message)
  test(`${ND_UTILS} + ${CX}: an orphaned output and an interrupted call in one input`, () => {
    const out = wireInput([output("orphan_output", "lost result"), call("orphan_call", "new_tool")])
    expect(out.map((i) => i.type)).toEqual(["message", "function_call", "function_call_output"])
  })

  // codex-rs normalize_removes_orphan_function_call_output: an output before its call is an orphan too
  test(`${CX}: an output before its call is not an answer`, () => {
    const out = wireInput([output("call_1", "early"), call("call_1")])
    expect(out.map((i) => i.type)).toEqual(["message", "function_call", "function_call_output"])
    expect(out[2]?.output).toBe("aborted")
  })

  // IB: "compat sanitizer › normalizes orphaned function_call_output into assistant text message" — IB writes
  // an output_text part; we follow numman-ali/ndycode's labelled text (docs/protocol.md)
  test(`${IB}: an output without call_id becomes an assistant message (our label)`, () => {
    expect(wireInput([{ type: "function_call_output", output: "result body" }])).toEqual([
      { type: "message", role: "assistant", content: "[Previous tool result; call_id=unknown]: result body" },
    ])
  })

  // IB: "compat sanitizer › keeps valid tool output items that include a call id"
  test(`${IB}: a tool output with a call id and its call stays`, () => {
    expect(wireInput([call("call_123"), output("call_123")])).toEqual([call("call_123"), output("call_123")])
  })

  // an output of text parts keeps the parts' text (the Responses output shape for files and images)
  test("an orphaned output of text parts keeps their text", () => {
    const parts = [
      { type: "input_text", text: "line one" },
      { type: "input_text", text: "line two" },
    ]
    expect(wireInput([output("c9", parts as never)])[0]?.content).toBe(
      "[Previous tool result; call_id=c9]: line one\nline two",
    )
  })
})

describe("item_reference", () => {
  // IB: "compat sanitizer › removes item_reference fields recursively"
  test(`${IB}: item_reference fields on an item and on its content parts go`, () => {
    const item = {
      type: "message",
      role: "assistant",
      item_reference: "abc",
      content: [{ type: "input_text", text: "hello", item_reference: "nested" }],
    }
    expect(wireInput([item])).toEqual([
      { type: "message", role: "assistant", content: [{ type: "input_text", text: "hello" }] },
    ])
  })

  // docs/protocol.md §3.4 (NA/ND ARCHITECTURE.md): item_reference items are dropped whole
  test("NA/ND docs/development/ARCHITECTURE.md: item_reference items are dropped", () => {
    expect(wireInput([user("a"), { type: "item_reference", id: "rs_1" }, user("b")])).toEqual([user("a"), user("b")])
  })
})

describe("reasoning replay", () => {
  // docs/protocol.md §3.4: codex-rs models.rs should_serialize_reasoning_content — raw reasoning text is
  // not sent back; the summary and encrypted content are
  test("openai/codex codex-rs/protocol/src/models.rs: a reasoning item replays without reasoning_text content", () => {
    const item = {
      type: "reasoning",
      id: "rs_x",
      summary: [{ type: "summary_text", text: "s" }],
      encrypted_content: "enc",
      content: [{ type: "reasoning_text", text: "raw" }],
    }
    expect(wireInput([item])).toEqual([
      { type: "reasoning", summary: [{ type: "summary_text", text: "s" }], encrypted_content: "enc" },
    ])
  })

  // docs/protocol.md §3.4: assistant messages may carry `phase` on newer models (codex-rs models.rs)
  test("openai/codex codex-rs/protocol/src/models.rs: an assistant message keeps its phase", () => {
    const item = {
      type: "message",
      role: "assistant",
      phase: "final_answer",
      content: [{ type: "output_text", text: "done" }],
    }
    expect(wireInput([item])).toEqual([item])
  })
})
