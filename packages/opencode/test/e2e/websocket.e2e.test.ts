import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { type SimRequest, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { makeSandbox, readJson, responsesFor } from "./harness.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ defaultText: "Hello over a WebSocket" })
})
afterAll(async () => {
  await sim.stop()
})

const TRANSPORTS = [
  { name: "native", env: { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1" }, also: "" },
  {
    name: "raw",
    env: { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1", CORTEXKIT_OPENAI_AUTH_RAW_WS: "1" },
    // one continuation is enough to show a fresh socket carries the whole conversation; it costs a process
    also: ", and a --continue turn sends the conversation over a fresh socket",
  },
] as const

describe("the real OpenCode binary over the WebSocket transports", () => {
  for (const transport of TRANSPORTS) {
    test(`${transport.name}: turns go over response.create frames, the rate-limits frame lands in the store${transport.also}`, async () => {
      const main = sim.addAccount({ accountId: `acct_ws_${transport.name}`, userId: `user_ws_${transport.name}` })
      sim.setQuota(main.accountId, { primaryUsedPercent: 37, secondaryUsedPercent: 12 })
      using box = makeSandbox(sim, main, transport.env)
      // a given title skips OpenCode's title turn, which would race the main turn for the session's socket
      // (the loser goes over HTTP by the pool's design)
      const result = await box.run(["run", "--title", "ws e2e", "--model", "openai/gpt-5.5", "say hi"])
      expect(result.stdout).toContain("Hello over a WebSocket")
      expect(result.code).toBe(0)

      const requests = responsesFor(sim, main.accountId)
      expect(requests).toHaveLength(1)
      for (const request of requests) {
        expect(request.transport).toBe("ws")
        expect(request.status).toBe(200)
        const frame = request.body as {
          type?: string
          model?: string
          store?: boolean
          instructions?: unknown
          tools?: unknown
        }
        expect(frame.type).toBe("response.create")
        expect(frame.model).toBe("gpt-5.5")
        expect(frame.store).toBe(false)
        expect(typeof frame.instructions).toBe("string")
        expect(Array.isArray(frame.tools)).toBe(true)
      }
      expect(requests[0]?.headers["chatgpt-account-id"]).toBe(main.accountId)

      const store = readJson(box.storePath) as
        | { quota?: Record<string, { source?: string; fiveHour?: { usedPercent?: number } }> }
        | undefined
      expect(store?.quota?.main?.source).toBe("frame")
      expect(store?.quota?.main?.fiveHour?.usedPercent).toBe(37)

      if (transport.name !== "raw") return
      // a second process continues the session on a fresh socket: the whole conversation goes in the frame
      const served = requests.length
      const next = await box.run(["run", "--continue", "--model", "openai/gpt-5.5", "and once more"])
      expect(next.stdout).toContain("Hello over a WebSocket")
      expect(next.code).toBe(0)
      const later = responsesFor(sim, main.accountId).slice(served)
      expect(later).toHaveLength(1)
      expect(later[0]?.transport).toBe("ws")
      const turn = JSON.stringify(later.at(-1)?.body)
      expect(turn).toContain("say hi")
      expect(turn).toContain("Hello over a WebSocket")
      expect(turn).toContain("and once more")
      expect(later.at(-1)?.status).toBe(200)
    }, 200_000)
  }
})

describe("a multi-turn OpenCode session over the WebSocket is chained", () => {
  for (const transport of TRANSPORTS) {
    test(`${transport.name}: a tool call, its output and a second prompt each go as previous_response_id + only the new items`, async () => {
      const main = sim.addAccount({
        accountId: `acct_ws_chain_${transport.name}`,
        userId: `user_ws_chain_${transport.name}`,
      })
      using box = makeSandbox(sim, main, transport.env)
      const file = join(box.project, "notes.txt")
      writeFileSync(file, "the notes the model asked to read\n")
      // prompt 1: the model reads a file (OpenCode runs its `read` tool and sends the output back), then answers;
      // prompt 2: the user speaks again in the same session
      sim.script(
        main.accountId,
        { reply: { reasoning: "Reading the notes", toolCalls: [{ name: "read", arguments: { filePath: file } }] } },
        { reply: { text: "The notes are read" } },
        { reply: { text: "And the second answer" } },
      )
      await using served = await box.serve()
      // a title of its own, so that no title turn takes the scripted replies or the session's socket
      const session = await served.session("ws chain e2e")
      expect(await served.prompt(session, "read notes.txt")).toContain("The notes are read")
      expect(await served.prompt(session, "and now?")).toContain("And the second answer")

      // the main agent's turns (the title turn has no tools and may go over HTTP: the pool's race, see above)
      const turns = responsesFor(sim, main.accountId).filter(
        (r: SimRequest) => Array.isArray((r.body as { tools?: unknown }).tools) && r.status === 200,
      )
      expect(turns).toHaveLength(3)
      for (const turn of turns) expect(turn.transport).toBe("ws")
      const bodies = turns.map(
        (t) => t.body as { previous_response_id?: string; input: Array<{ type?: string; role?: string }> },
      )
      expect(bodies[0]?.previous_response_id).toBeUndefined()
      // turn 2: only the tool's output, chained to the response that called the tool
      expect(bodies[1]?.previous_response_id).toBe(turns[0]?.responseId)
      expect(bodies[1]?.input.map((item) => item.type)).toEqual(["function_call_output"])
      // turn 3: only the new user message, chained to the answer
      expect(bodies[2]?.previous_response_id).toBe(turns[1]?.responseId)
      expect(bodies[2]?.input.map((item) => item.role)).toEqual(["user"])
      // the chained frames are a fraction of the full conversation they continue
      expect(turns[2]?.bytes ?? 0).toBeLessThan(turns[1]?.bytes ?? 0)
    }, 200_000)
  }
})
