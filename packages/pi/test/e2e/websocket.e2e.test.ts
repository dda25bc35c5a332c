import { describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import type { SimulatorHandle } from "@cortexkit/openai-auth-testkit/Simulator"
import { baseArgs, makeSandbox, responsesFor, useNetwork, writePiAuth } from "./harness.ts"

const setup = useNetwork()

const toolTurn = (sim: SimulatorHandle, accountId: string) =>
  sim.script(
    accountId,
    { reply: { toolCalls: [{ name: "read", arguments: { path: "note.txt" } }] } },
    { reply: { text: "The note says heron." } },
  )

describe("WebSocket transports under Pi (Node 22)", () => {
  for (const [name, raw, env] of [
    ["the raw RFC 6455 client", true, { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1", CORTEXKIT_OPENAI_AUTH_RAW_WS: "1" }],
    ["the native WebSocket", false, { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1" }],
  ] as const) {
    test(`${name} carries a turn with a tool call, both requests on one connection`, async () => {
      const main = setup.sim.addAccount({ accountId: `acct_pi_ws_${name.length}`, userId: `user_pi_ws_${name.length}` })
      using box = makeSandbox(setup.net, env)
      writePiAuth(box, main)
      writeFileSync(join(box.work, "note.txt"), "heron\n")
      toolTurn(setup.sim, main.accountId)
      const result = await box.run([...(await baseArgs()), "-p", "--model", "openai-codex/gpt-6-sol", "read note.txt"])
      expect(result.stdout).toContain("The note says heron.")
      expect(result.code).toBe(0)
      const requests = responsesFor(setup.sim, main.accountId)
      expect(requests.map((r) => r.transport)).toEqual(["ws", "ws"])
      expect(requests.map((r) => r.status)).toEqual([200, 200])
      const [first, second] = requests
      if (first === undefined || second === undefined) throw new Error("expected two requests")
      // the second turn continued the first on the same socket
      expect((second.body as { previous_response_id?: string }).previous_response_id).toBe(first.responseId)
      expect(first.headers.originator).toBe("pi")
      // which client opened it: Node's own (undici) offers permessage-deflate, ours never does
      expect(first.headers["sec-websocket-extensions"] === undefined).toBe(raw)
      expect(setup.net.outsideAttempts()).toBe(0)
    }, 90_000)
  }
})
