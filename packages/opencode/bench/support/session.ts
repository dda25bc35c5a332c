/**
 * A synthetic OpenCode coding session driven through the plugin fetch against an in-process simulator: every
 * turn the simulator answers with reasoning and a tool call (every tenth turn with text, after which the user
 * speaks again); the next request appends the assistant's output items and the tool's output the way the AI
 * SDK replays them (ids kept: the rewrite strips them). Then the simulator's records are checked for prefix
 * stability and read for cached-token ratios.
 */
import { parseSseText } from "@cortexkit/openai-auth-testkit/SimClient"
import { startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { hostHeaders, mainTurn, userMessage } from "../../../core/test/fixtures/opencode.ts"
import { buildPlugin, makeSandbox, withEnv } from "./plugin.ts"

export interface SessionResult {
  readonly turns: number
  /** continuation requests (all but the first) */
  readonly continuations: number
  /** continuations with byte-identical instructions and tools whose input extends the previous input */
  readonly stable: number
  /** per turn: cached_tokens / input_tokens */
  readonly cachedRatios: ReadonlyArray<number>
  /** continuations whose cached tokens cover the whole previous prompt */
  readonly fullPrefixHits: number
  readonly firstUnstable?: string
}

export const toolOutput = (turn: number) =>
  `<file>\n${`export const value${turn} = ${turn} // a line of the file the tool read\n`.repeat(30)}</file>`

/**
 * What the host appends after turn `turn` answered with `output`: the output items, the tool's output for each
 * function call, and after a turn that talked (`talk`) the user's next message.
 */
export const appendTurn = (
  input: Array<unknown>,
  output: ReadonlyArray<Record<string, unknown>>,
  turn: number,
  talk: boolean,
): void => {
  input.push(...output)
  for (const item of output) {
    if (item.type === "function_call") {
      input.push({ type: "function_call_output", call_id: item.call_id, output: toolOutput(turn) })
    }
  }
  if (talk) input.push(userMessage(`Good. Now continue with part ${turn + 1}.`))
}

export const runSession = async (turns: number, env: Record<string, string>): Promise<SessionResult> => {
  const sim = await startSimulator()
  const main = sim.addAccount({ accountId: "acct_session" })
  const box = makeSandbox(sim, env)
  const restore = withEnv(box.env)
  const plugin = await buildPlugin(main)
  const input: Array<unknown> = [userMessage("Refactor the request pipeline and add tests.")]
  try {
    for (let turn = 0; turn < turns; turn++) {
      const talk = turn % 10 === 9
      sim.script(main.accountId, {
        reply: talk
          ? { reasoning: `Summarising step ${turn}`, text: `Done with step ${turn}; next?` }
          : {
              reasoning: `Looking at file ${turn}`,
              toolCalls: [{ name: "read", arguments: { filePath: `/work/src/file${turn}.ts` } }],
            },
      })
      const response = await plugin.fetch("https://api.openai.com/v1/responses", {
        method: "POST",
        headers: hostHeaders(),
        body: JSON.stringify(mainTurn(input)),
      })
      const text = await response.text()
      if (response.status !== 200) throw new Error(`turn ${turn}: HTTP ${response.status}: ${text}`)
      const completed = parseSseText(text).find((e) => e.event === "response.completed")
      const output = ((completed?.json?.response as { output?: Array<Record<string, unknown>> })?.output ?? []).map(
        (item) => {
          const { status: _status, ...rest } = item
          return rest
        },
      )
      appendTurn(input, output, turn, talk)
    }
  } finally {
    await plugin.dispose()
    restore()
    box.dispose()
  }
  const served = sim.requests.filter((r) => r.path.endsWith("/codex/responses") && r.status === 200)
  await sim.stop()
  let stable = 0
  let fullPrefixHits = 0
  let firstUnstable: string | undefined
  const cachedRatios: Array<number> = []
  for (const [i, r] of served.entries()) {
    const usage = r.usage
    cachedRatios.push(usage === undefined ? 0 : usage.input_tokens_details.cached_tokens / usage.input_tokens)
    const previous = served[i - 1]
    if (previous === undefined) continue
    const a = previous.body as Record<string, unknown>
    const b = r.body as Record<string, unknown>
    const before = (a.input as Array<unknown>).map((item) => JSON.stringify(item))
    const after = (b.input as Array<unknown>).map((item) => JSON.stringify(item))
    const why =
      a.instructions !== b.instructions
        ? "instructions changed"
        : JSON.stringify(a.tools) !== JSON.stringify(b.tools)
          ? "tools changed"
          : after.length < before.length
            ? "input shrank"
            : before.findIndex((item, k) => item !== after[k]) >= 0
              ? `input item ${before.findIndex((item, k) => item !== after[k])} changed`
              : undefined
    if (why === undefined) stable++
    else firstUnstable ??= `turn ${i}: ${why}`
    const prevTokens = previous.usage?.input_tokens ?? 0
    if ((usage?.input_tokens_details.cached_tokens ?? 0) >= prevTokens - 1) fullPrefixHits++
  }
  return {
    turns: served.length,
    continuations: Math.max(0, served.length - 1),
    stable,
    cachedRatios,
    fullPrefixHits,
    ...(firstUnstable === undefined ? {} : { firstUnstable }),
  }
}
