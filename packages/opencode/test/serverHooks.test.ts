/**
 * The server entry's hooks, called the way OpenCode calls them: which session is a subagent's (and what
 * happens when OpenCode cannot say), the agent marker keep-warm relies on, and an API-key login, whose
 * requests our hooks must leave exactly as OpenCode makes them.
 */
import { describe, expect, test } from "bun:test"
import type { Hooks, PluginInput } from "@opencode-ai/plugin"
import { AGENT_HEADER } from "../src/Pipeline.ts"
import { server, subagentOf } from "../src/server.ts"

type SessionAnswer = "parent" | "root" | "throws" | "error"

const fakeClient = (answers: Record<string, Array<SessionAnswer>>) => {
  const asked: Array<string> = []
  const client = {
    session: {
      get: async ({ path }: { path: { id: string } }) => {
        asked.push(path.id)
        const answer = answers[path.id]?.shift() ?? "root"
        switch (answer) {
          case "parent":
            return { data: { id: path.id, parentID: "ses_parent" } }
          case "root":
            return { data: { id: path.id } }
          case "throws":
            throw new Error("connection reset")
          case "error":
            return { data: undefined, error: { name: "NotFoundError" } }
        }
      },
    },
  }
  return { client: client as unknown as PluginInput["client"], asked }
}

const plugin = async (client: PluginInput["client"], auth: unknown): Promise<Hooks> => {
  const hooks = await server({ client } as unknown as PluginInput)
  await hooks.auth?.loader?.(async () => auth as never, {} as never)
  return hooks
}

const chat = (sessionID: string, agent: string) =>
  ({ sessionID, agent, model: { providerID: "openai", id: "gpt-5.5" } }) as unknown as Parameters<
    NonNullable<Hooks["chat.headers"]>
  >[0]

const OAUTH = { type: "oauth", access: "a", refresh: "r", expires: Date.now() + 3_600_000 }
const API_KEY = { type: "api", key: "sk-test-key-0123456789" }

describe("subagent detection", () => {
  test("a session with a parent is a subagent's; one without is not; a failed lookup is unknown", async () => {
    const { client } = fakeClient({ a: ["parent"], b: ["root"], c: ["throws"], d: ["error"] })
    expect(await subagentOf(client, "a")).toBe(true)
    expect(await subagentOf(client, "b")).toBe(false)
    expect(await subagentOf(client, "c")).toBeUndefined()
    expect(await subagentOf(client, "d")).toBeUndefined()
  })

  test("chat.headers remembers a known answer and asks again after an unknown one", async () => {
    const { client, asked } = fakeClient({ ses_1: ["throws", "parent"], ses_2: ["root"] })
    const hooks = await plugin(client, OAUTH)
    for (const id of ["ses_1", "ses_1", "ses_1", "ses_2", "ses_2"]) {
      await hooks["chat.headers"]?.(chat(id, "build"), { headers: {} })
    }
    expect(asked).toEqual(["ses_1", "ses_1", "ses_2"])
  })
})

describe("the agent marker", () => {
  test("each request says which OpenCode agent made it (title and summary included)", async () => {
    const { client } = fakeClient({})
    const hooks = await plugin(client, OAUTH)
    for (const agent of ["build", "title", "summary"]) {
      const output = { headers: {} as Record<string, string> }
      await hooks["chat.headers"]?.(chat("ses_m", agent), output)
      expect(output.headers[AGENT_HEADER]).toBe(agent)
    }
  })
})

describe("an API-key login", () => {
  test("gets no fetch of ours, and its headers and parameters are left as OpenCode made them", async () => {
    const { client, asked } = fakeClient({})
    const hooks = await server({ client } as unknown as PluginInput)
    const loaded = await hooks.auth?.loader?.(async () => API_KEY as never, {} as never)
    expect(loaded).toEqual({})
    const headers = { "x-existing": "1" }
    await hooks["chat.headers"]?.(chat("ses_k", "build"), { headers })
    expect(headers).toEqual({ "x-existing": "1" })
    const params = { temperature: 0.2, topP: 1, topK: 0, maxOutputTokens: 4096, options: {} }
    await hooks["chat.params"]?.(chat("ses_k", "build") as never, params)
    expect(params).toEqual({ temperature: 0.2, topP: 1, topK: 0, maxOutputTokens: 4096, options: {} })
    const models = { "gpt-4.1": { id: "gpt-4.1", cost: { input: 2, output: 8 } } }
    const listed = await hooks.provider?.models?.({ models } as never, { auth: API_KEY as never })
    expect(listed).toBe(models as never)
    expect(asked).toEqual([])
  })
})
