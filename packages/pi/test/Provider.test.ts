/**
 * The provider in process, without Pi around it: Pi's own Codex stream over our routed fetch, against the
 * simulator, over every transport. What Pi's agent sees is the event stream, so that is what is compared.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { readFileSync, writeFileSync } from "node:fs"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import type { OAuthLoginCallbacks } from "@earendil-works/pi-ai"
import { normalizeContext } from "@earendil-works/pi-ai/compat"
import type { Client } from "../src/Client.ts"
import { providerConfig } from "../src/Provider.ts"
import { clientFor, testAgent } from "./support/client.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.stop()
})

const context = normalizeContext({
  systemPrompt: "You are a test assistant.",
  messages: [{ role: "user", content: "look at the file", timestamp: 1 }],
  tools: [
    {
      name: "read",
      description: "Read a file",
      parameters: { type: "object", properties: { path: { type: "string" } }, required: ["path"] } as never,
    },
  ],
})

type Event = Record<string, unknown>

/** What Pi's agent reads from each event, without the ids and times that differ from run to run. */
const essence = (event: Event) => {
  const { partial: _p, message, error, toolCall, ...rest } = event
  if (toolCall !== undefined) {
    // `<call id>|<item id>`: the item id is minted per response
    const { id, ...call } = toolCall as { id: string }
    return { ...rest, toolCall: { ...call, callId: id.split("|")[0] } }
  }
  const final = (message ?? error) as Record<string, unknown> | undefined
  if (final === undefined) return rest
  return {
    ...rest,
    stopReason: final.stopReason,
    usage: final.usage,
    content: (final.content as Array<Record<string, unknown>>).map(
      ({ textSignature: _t, thinkingSignature: _s, id: _i, ...part }) => part,
    ),
  }
}

const runStream = async (client: Client, accessToken: string) => {
  const config = providerConfig(async () => client)
  const model = (config.models ?? []).find((m) => m.id === "gpt-6-sol")
  if (model === undefined || config.streamSimple === undefined) throw new Error("no gpt-6-sol")
  const full = { ...model, provider: "openai-codex", api: "openai-codex-responses" } as never
  const events: Array<Event> = []
  for await (const event of config.streamSimple(full, context, {
    apiKey: accessToken,
    sessionId: "ses_provider_test",
  })) {
    events.push(event as unknown as Event)
  }
  return events
}

describe("Pi's event stream through our provider", () => {
  test("text, reasoning, a tool call and usage arrive the same over HTTP, native WebSocket and raw WebSocket", async () => {
    const runs: Array<Array<Event>> = []
    for (const env of [
      {},
      { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1" },
      { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1", CORTEXKIT_OPENAI_AUTH_RAW_WS: "1" },
    ]) {
      const main = sim.addAccount({ accountId: `acct_stream_${runs.length}` })
      using agent = testAgent(sim, env)
      agent.writeMain(main)
      sim.script(main.accountId, {
        reply: {
          reasoning: "The user wants the file.",
          text: "Reading it now.",
          chunks: 3,
          toolCalls: [{ name: "read", arguments: { path: "notes.md" }, callId: "call_fixed" }],
        },
      })
      const client = clientFor(agent)
      runs.push(await runStream(client, main.tokens.access))
      await client.dispose()
      expect(sim.requests.filter((r) => r.accountId === main.accountId).map((r) => r.transport)).toEqual([
        runs.length === 1 ? "http" : "ws",
      ])
    }
    const [http, ws, raw] = runs.map((events) => events.map(essence))
    expect(ws).toEqual(http as Array<Record<string, unknown>>)
    expect(raw).toEqual(http as Array<Record<string, unknown>>)

    const types = (http ?? []).map((e) => e.type)
    expect(types[0]).toBe("start")
    expect(types).toContain("thinking_delta")
    expect(types).toContain("text_delta")
    expect(types).toContain("toolcall_end")
    expect(types.at(-1)).toBe("done")
    const done = http?.at(-1) as {
      stopReason: string
      content: Array<Record<string, unknown>>
      usage: { input: number }
    }
    expect(done.stopReason).toBe("toolUse")
    expect(done.content.map((c) => c.type)).toEqual(["thinking", "text", "toolCall"])
    expect(done.content[1]?.text).toBe("Reading it now.")
    expect(done.content[2]).toMatchObject({ name: "read", arguments: { path: "notes.md" } })
    expect(done.usage.input).toBeGreaterThan(0)
  }, 60_000)

  test("a refusal nobody can serve ends the stream with Pi's own usage-limit wording", async () => {
    const main = sim.addAccount({ accountId: "acct_stream_limit" })
    using agent = testAgent(sim)
    agent.writeMain(main)
    sim.script(main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 1800 } })
    const client = clientFor(agent)
    const events = await runStream(client, main.tokens.access)
    await client.dispose()
    const last = events.at(-1) as { type: string; error?: { errorMessage?: string } }
    expect(last.type).toBe("error")
    expect(last.error?.errorMessage).toMatch(/You have hit your ChatGPT usage limit.*Try again in ~(29|30) min/)
  })

  test("the main login runs our device flow against the configured issuer and clears a re-login mark", async () => {
    const main = sim.addAccount({ accountId: "acct_login_device", email: "device@example.test" })
    using agent = testAgent(sim)
    // an earlier refresh failed for good
    writeFileSync(agent.storePath, JSON.stringify({ version: 1, main: { state: "needs-relogin" } }), { mode: 0o600 })
    sim.setDevice({ interval: "0", approveAfterPolls: 1 })
    sim.nextLogin(main.accountId)
    const client = clientFor(agent)
    const config = providerConfig(async () => client)
    const shown: Array<{ userCode: string; verificationUri: string }> = []
    const callbacks: OAuthLoginCallbacks = {
      onSelect: async (prompt) => prompt.options.find((o) => o.id === "device")?.id,
      onDeviceCode: (info) => {
        shown.push(info)
      },
      onAuth: () => {
        throw new Error("the browser was not chosen")
      },
      onPrompt: async () => "",
    }
    const credential = await config.oauth?.login(callbacks)
    await client.dispose()
    expect(shown).toHaveLength(1)
    expect(shown[0]?.verificationUri).toBe(`${sim.url}/codex/device`)
    expect(credential).toMatchObject({ accountId: main.accountId })
    expect(typeof credential?.access).toBe("string")
    expect(typeof credential?.refresh).toBe("string")
    expect(credential?.expires).toBeGreaterThan(Date.now())
    expect(JSON.parse(readFileSync(agent.storePath, "utf8")).main).toBeUndefined()
  })
})

test("the main login in the browser: PKCE with Pi's originator, the redirect caught on localhost, tokens to Pi", async () => {
  const main = sim.addAccount({ accountId: "acct_login_browser", email: "browser@example.test" })
  using agent = testAgent(sim)
  sim.nextLogin(main.accountId)
  const client = clientFor(agent)
  const config = providerConfig(async () => client)
  let page: Promise<number> | undefined
  const credential = await config.oauth?.login({
    onSelect: async () => "browser",
    onDeviceCode: () => {
      throw new Error("the device code was not chosen")
    },
    // the user's browser: the issuer approves and redirects to the callback on localhost
    onAuth: (info) => {
      expect(new URL(info.url).searchParams.get("originator")).toBe("pi")
      page = fetch(info.url, { redirect: "manual" })
        .then((approved) => fetch(approved.headers.get("location") ?? ""))
        .then((answer) => answer.status)
    },
    onPrompt: async () => "",
  })
  await client.dispose()
  expect(credential).toMatchObject({ accountId: main.accountId })
  expect(credential?.refresh).toBeString()
  expect(await page).toBe(200)
})

test("a login the user walks away from stops waiting at once", async () => {
  using agent = testAgent(sim)
  sim.setDevice({ interval: "1", approveAfterPolls: 1_000 })
  const client = clientFor(agent)
  const config = providerConfig(async () => client)
  const cancel = new AbortController()
  const login = config.oauth?.login({
    onSelect: async () => "device",
    // Pi shows the code; the user closes the dialog instead of approving
    onDeviceCode: () => cancel.abort(),
    onAuth: () => undefined,
    onPrompt: async () => "",
    signal: cancel.signal,
  })
  await expect(login).rejects.toBeDefined()
  await client.dispose()
})
