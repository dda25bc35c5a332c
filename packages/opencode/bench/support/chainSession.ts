/**
 * A tool-using OpenCode session of `turns` turns through the plugin fetch against an in-process simulator,
 * for the WebSocket chaining bench: every turn the simulator answers with reasoning and a tool call (every
 * tenth with text, after which the user speaks again), and the next host request replays the whole
 * conversation in the shape OpenCode sends it. Optionally, at turn `eventAt`, the main account refuses with a usage limit
 * (the plugin falls back to the store's fallback account) or the simulator drops the socket or body mid-stream
 * (the host sends the turn again, as OpenCode retries a broken stream).
 *
 * What the simulator saw is the result: the bytes it received for every Codex request (failed attempts
 * included) and, for each completed turn, whether its request was chained (`previous_response_id` with only
 * the new items). The time from the call to the first output event (`response.output_item.added`) of each
 * completed turn is taken on the host side.
 */
import { startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { hostHeaders, mainTurn, userMessage } from "../../../core/test/fixtures/opencode.ts"
import { buildPlugin, makeSandbox, withEnv, writeStore } from "./plugin.ts"
import { appendTurn } from "./session.ts"

export type ChainEvent = "none" | "fallback" | "drop"

export interface ChainTurn {
  /** the simulator saw `previous_response_id` on the turn's (last) request */
  readonly chained: boolean
  /** input items in that request (all of them for a full request, the new ones for a chained one) */
  readonly items: number
  /** bytes the simulator received for that request, and the part of them outside its `input` */
  readonly bytes: number
  readonly fieldBytes: number
  readonly transport: "http" | "ws"
  readonly accountId: string | undefined
  /** ms from the call to the chunk carrying the first output event */
  readonly firstOutput: number
}

export interface ChainResult {
  readonly turns: ReadonlyArray<ChainTurn>
  /** bytes of every Codex request body / `response.create` frame the simulator received */
  readonly uploadBytes: number
  /** Codex requests the simulator received (retries and refused attempts included) */
  readonly requests: number
  /** attempts the host had to send again (a stream broken after its first output) */
  readonly hostRetries: number
}

const OUTPUT_MARK = Buffer.from("response.output_item.added")

/** Reads the reply; the SSE text and the time of the first output event, or undefined when the stream broke. */
const readReply = async (
  start: number,
  response: Response,
): Promise<{ text: string; firstOutput: number } | undefined> => {
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  const chunks: Array<Buffer> = []
  let firstOutput: number | undefined
  for (;;) {
    let next: Awaited<ReturnType<typeof reader.read>>
    try {
      next = await reader.read()
    } catch {
      return undefined
    }
    if (next.done) break
    chunks.push(Buffer.from(next.value))
    if (firstOutput === undefined && Buffer.concat(chunks.slice(-2)).indexOf(OUTPUT_MARK) >= 0) {
      firstOutput = performance.now() - start
    }
  }
  const text = Buffer.concat(chunks).toString("utf8")
  // a body that ended without its terminal event is a broken stream too
  if (firstOutput === undefined || !text.includes("response.completed")) return undefined
  return { text, firstOutput }
}

const completedOutput = (sse: string): Array<Record<string, unknown>> => {
  for (const block of sse.split("\n\n")) {
    const data = block.split("\n").find((line) => line.startsWith("data: "))
    if (data === undefined || !block.includes("response.completed")) continue
    const json = JSON.parse(data.slice(6)) as { type?: string; response?: { output?: Array<Record<string, unknown>> } }
    if (json.type === "response.completed") return json.response?.output ?? []
  }
  throw new Error("no response.completed event")
}

/**
 * A response's output item as OpenCode (the AI SDK) sends it back on the next turn, as the real binary does
 * (websocket.e2e.test.ts): its own key order, no ids, an assistant message without `type` and its text parts
 * without `annotations`.
 */
const replayed = (item: Record<string, unknown>): Record<string, unknown> => {
  switch (item.type) {
    case "reasoning":
      return { type: "reasoning", encrypted_content: item.encrypted_content, summary: item.summary }
    case "function_call":
      return { type: "function_call", call_id: item.call_id, name: item.name, arguments: item.arguments }
    case "message":
      return {
        role: item.role,
        content: (item.content as Array<{ type: string; text: string }>).map((part) => ({
          type: part.type,
          text: part.text,
        })),
      }
    default:
      throw new Error(`an output item the bench cannot replay: ${String(item.type)}`)
  }
}

export const runChainSession = async (
  turns: number,
  env: Record<string, string>,
  event: ChainEvent,
  eventAt: number,
): Promise<ChainResult> => {
  const sim = await startSimulator()
  const main = sim.addAccount({ accountId: "acct_chain_main" })
  const fallback = sim.addAccount({ accountId: "acct_chain_fallback" })
  const box = makeSandbox(sim, env)
  writeStore(box.storePath, [fallback])
  const restore = withEnv(box.env)
  const plugin = await buildPlugin(main)
  const input: Array<unknown> = [userMessage("Refactor the request pipeline and add tests.")]
  const result: Array<ChainTurn> = []
  let serving = main.accountId
  let hostRetries = 0
  try {
    for (let turn = 0; turn < turns; turn++) {
      const talk = turn % 10 === 9
      if (turn === eventAt && event === "fallback") {
        sim.script(main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 3600 } })
        serving = fallback.accountId
      }
      if (turn === eventAt && event === "drop") {
        sim.script(serving, { fault: { kind: "drop_mid_stream", afterDeltas: 1 } })
      }
      sim.script(serving, {
        reply: talk
          ? { reasoning: `Summarising step ${turn}`, text: `Done with step ${turn}; next?` }
          : {
              reasoning: `Looking at file ${turn}`,
              toolCalls: [{ name: "read", arguments: { filePath: `/work/src/file${turn}.ts` } }],
            },
      })
      const body = JSON.stringify(mainTurn(input))
      let reply: { text: string; firstOutput: number } | undefined
      for (let attempt = 0; reply === undefined; attempt++) {
        if (attempt > 2) throw new Error(`turn ${turn}: the stream broke ${attempt} times`)
        if (attempt > 0) hostRetries++
        const start = performance.now()
        const response = await plugin.fetch("https://api.openai.com/v1/responses", {
          method: "POST",
          headers: hostHeaders(),
          body,
        })
        reply = await readReply(start, response)
      }
      const record = sim.requests.filter((r) => r.path.endsWith("/codex/responses")).at(-1)
      const sent = record?.body as { previous_response_id?: unknown; input?: Array<unknown> } | undefined
      result.push({
        chained: typeof sent?.previous_response_id === "string",
        items: sent?.input?.length ?? 0,
        bytes: record?.bytes ?? 0,
        fieldBytes: (record?.bytes ?? 0) - Buffer.byteLength(JSON.stringify(sent?.input ?? [])),
        transport: record?.transport ?? "http",
        accountId: record?.accountId,
        firstOutput: reply.firstOutput,
      })
      appendTurn(input, completedOutput(reply.text).map(replayed), turn, talk)
    }
  } finally {
    await plugin.dispose()
    restore()
    box.dispose()
  }
  const codex = sim.requests.filter((r) => r.path.endsWith("/codex/responses"))
  await sim.stop()
  return {
    turns: result,
    uploadBytes: codex.reduce((sum, r) => sum + (r.bytes ?? 0), 0),
    requests: codex.length,
    hostRetries,
  }
}
