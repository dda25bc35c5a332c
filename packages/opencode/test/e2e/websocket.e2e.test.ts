import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
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
