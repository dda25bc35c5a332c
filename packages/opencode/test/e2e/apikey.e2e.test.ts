/**
 * "Manually enter API Key": plain OpenAI billing, where the plugin must stay out of the way. The real OpenCode
 * binary runs the same prompt against a local stand-in for api.openai.com twice, with our plugin and without
 * it, and the requests that arrive must be the same (session ids aside): same URL, headers and body.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { chmodSync, writeFileSync } from "node:fs"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { makeSandbox, PLUGIN_DIR } from "./harness.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  // only for the sandbox's settings: no request may reach it
  sim = await startSimulator({})
})
afterAll(async () => {
  await sim.stop()
})

const ANSWER = "Hello from the stand-in OpenAI API"

interface Seen {
  readonly method: string
  readonly path: string
  readonly headers: Record<string, string>
  readonly body: unknown
}

const sse = (events: ReadonlyArray<Record<string, unknown>>) =>
  events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`).join("")

/** a minimal Responses API: records each request and streams one short answer */
const standIn = () => {
  const seen: Array<Seen> = []
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      const url = new URL(request.url)
      const text = await request.text()
      seen.push({
        method: request.method,
        path: url.pathname,
        headers: Object.fromEntries(request.headers),
        body: text === "" ? undefined : JSON.parse(text),
      })
      const id = `msg_${seen.length}`
      return new Response(
        sse([
          { type: "response.created", response: { id: `resp_${seen.length}`, created_at: 1, model: "gpt-4.1" } },
          { type: "response.output_item.added", output_index: 0, item: { type: "message", id } },
          {
            type: "response.content_part.added",
            item_id: id,
            output_index: 0,
            content_index: 0,
            part: { type: "output_text", text: "" },
          },
          { type: "response.output_text.delta", item_id: id, output_index: 0, content_index: 0, delta: ANSWER },
          { type: "response.output_text.done", item_id: id, output_index: 0, content_index: 0, text: ANSWER },
          { type: "response.output_item.done", output_index: 0, item: { type: "message", id } },
          {
            type: "response.completed",
            response: { incomplete_details: null, usage: { input_tokens: 10, output_tokens: 5 } },
          },
        ]),
        { headers: { "content-type": "text/event-stream" } },
      )
    },
  })
  return { url: `http://127.0.0.1:${server.port}/v1`, seen, stop: () => server.stop(true) }
}

/** what may differ between two runs: the stand-in's port, the sandbox's path, the session ids */
const normalise = (seen: ReadonlyArray<Seen>, sandbox: string) =>
  JSON.parse(
    JSON.stringify(
      seen.map((s) => {
        const { "content-length": _length, host: _host, ...headers } = s.headers
        return { ...s, headers }
      }),
    )
      .replaceAll(sandbox, "<sandbox>")
      .replace(/ses_[A-Za-z0-9]+/g, "ses_X"),
  )

const runWith = async (plugins: ReadonlyArray<string>) => {
  const api = standIn()
  try {
    using box = makeSandbox(sim, undefined)
    writeFileSync(box.authPath, JSON.stringify({ openai: { type: "api", key: "sk-test-0123456789abcdef" } }))
    chmodSync(box.authPath, 0o600)
    writeFileSync(
      `${box.project}/opencode.json`,
      JSON.stringify({
        $schema: "https://opencode.ai/config.json",
        share: "disabled",
        plugin: plugins,
        provider: { openai: { options: { baseURL: api.url } } },
      }),
    )
    const result = await box.run(["run", "--model", "openai/gpt-4.1", "say hi"])
    return { result, seen: normalise(api.seen, box.root), raw: [...api.seen] }
  } finally {
    api.stop()
  }
}

describe("an API-key login with the real OpenCode binary", () => {
  test("requests are exactly what OpenCode sends without the plugin", async () => {
    const without = await runWith([])
    const withPlugin = await runWith([`file://${PLUGIN_DIR}`])
    expect(without.result.stdout).toContain(ANSWER)
    expect(withPlugin.result.stdout).toContain(ANSWER)
    expect(withPlugin.result.code).toBe(0)
    expect(withPlugin.raw.length).toBeGreaterThan(0)
    expect(withPlugin.seen).toEqual(without.seen)
    for (const request of withPlugin.raw) {
      expect(request.path).toBe("/v1/responses")
      expect(request.headers.authorization).toBe("Bearer sk-test-0123456789abcdef")
      expect(request.headers["x-openai-auth-agent"]).toBeUndefined()
      expect(request.headers["chatgpt-account-id"]).toBeUndefined()
    }
    // and nothing went to the Codex backend
    expect(sim.requests.filter((r) => r.path.includes("/codex/"))).toEqual([])
  }, 240_000)
})
