/**
 * Keep-warm with the real OpenCode binary: OpenCode sends its title request in the same session as the turn,
 * and on a busy backend the title's answer can end after the turn's. Keep-warm must keep the turn's prompt
 * warm, never the title's. A proxy in front of the simulator holds the title request until the plugin has
 * finished with the turn's answer (its log says the turn is tracked), so the order does not depend on timing.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { makeSandbox, writeStore } from "./harness.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ defaultText: "Hello from the Codex simulator" })
})
afterAll(async () => {
  await sim.stop()
})

/** OpenCode's title request: its own short prompt, asking for a title, with no tools */
const isTitleRequest = (body: Record<string, unknown>) =>
  !Array.isArray(body.tools) && typeof body.instructions === "string" && /title/i.test(body.instructions)

const logLines = (path: string) => (existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : [])

/** resolves once a line of the plugin's log contains `text` (polling the file, bounded) */
const logShows = async (path: string, text: string, timeoutMs = 60_000) => {
  const deadline = Date.now() + timeoutMs
  while (!logLines(path).some((l) => l.includes(text))) {
    if (Date.now() > deadline) throw new Error(`the log never said "${text}"`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

const titleLast = (target: string, logFile: string) => {
  const events: Array<string> = []
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch: async (request) => {
      const text = await request.text()
      const title = isTitleRequest(JSON.parse(text) as Record<string, unknown>)
      if (title) await logShows(logFile, "cache keep-warm: tracking")
      const answer = await fetch(target, { method: "POST", headers: request.headers, body: text })
      const bytes = new Uint8Array(await answer.arrayBuffer())
      events.push(title ? "title answered" : "turn answered")
      return new Response(bytes, { status: answer.status, headers: answer.headers })
    },
  })
  return { url: `http://127.0.0.1:${server.port}/backend-api/codex/responses`, events, stop: () => server.stop(true) }
}

describe("keep-warm with the real OpenCode binary", () => {
  test("a title answer that ends after the turn's does not replace the turn as the warmed prompt", async () => {
    const main = sim.addAccount({ accountId: "acct_kw_main", userId: "user_kw_main" })
    using box = makeSandbox(sim, main)
    const proxy = titleLast(sim.codexEndpoint, box.logFile)
    try {
      writeStore(box, { cacheKeep: { enabled: true, subagents: false } })
      // a long-lived OpenCode (`opencode run` may exit before the title is done)
      await using served = await box.serve({ CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: proxy.url })
      const session = await served.session()
      expect(await served.prompt(session, "say hi")).toContain("Hello from the Codex simulator")
      await logShows(box.logFile, "cache keep-warm: not tracked")
      expect(proxy.events).toEqual(["turn answered", "title answered"])
      const lines = logLines(box.logFile)
      const tracking = lines.filter((l) => l.includes("cache keep-warm: tracking"))
      const skipped = lines.filter((l) => l.includes("cache keep-warm: not tracked"))
      expect(tracking).toHaveLength(1)
      expect(tracking[0]).toContain('"agent":"build"')
      expect(tracking[0]).toMatch(/"tools":[1-9]/)
      expect(skipped).toHaveLength(1)
      expect(skipped[0]).toContain(`"reason":"OpenCode's title request"`)
      // the title's bookkeeping ran last, and left the turn in place
      expect(lines.indexOf(skipped[0] as string)).toBeGreaterThan(lines.indexOf(tracking[0] as string))
    } finally {
      proxy.stop()
    }
  }, 180_000)
})
