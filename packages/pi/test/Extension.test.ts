/**
 * The extension's factory against a stand-in for Pi's `ExtensionAPI`: what it registers, and the commands
 * and hooks run the way Pi runs them (a context with `ui.notify`, `ui.setStatus`, `ui.select`).
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import openaiAuth from "../src/index.ts"
import { testAgent } from "./support/client.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator()
})
afterAll(async () => {
  await sim.stop()
})

type Handler = (...args: Array<unknown>) => unknown

interface Registered {
  provider?: { name: string; config: Record<string, unknown> }
  commands: Map<string, { description: string; handler: Handler; getArgumentCompletions: Handler }>
  events: Map<string, Handler>
}

const load = (env: Record<string, string | undefined>) => {
  const saved = { ...process.env }
  Object.assign(process.env, env)
  const registered: Registered = { commands: new Map(), events: new Map() }
  const pi = {
    registerProvider: (name: string, config: Record<string, unknown>) => {
      registered.provider = { name, config }
    },
    registerCommand: (name: string, options: Registered["commands"] extends Map<string, infer V> ? V : never) => {
      registered.commands.set(name, options)
    },
    on: (event: string, handler: Handler) => {
      registered.events.set(event, handler)
    },
  }
  openaiAuth(pi as never)
  for (const key of Object.keys(env)) {
    if (saved[key] === undefined) delete process.env[key]
    else process.env[key] = saved[key]
  }
  return registered
}

const context = (mode: "tui" | "rpc" = "rpc") => {
  const notes: Array<{ message: string; type: string }> = []
  const statuses: Array<string | undefined> = []
  return {
    notes,
    statuses,
    ctx: {
      hasUI: true,
      mode,
      ui: {
        notify: (message: string, type = "info") => notes.push({ message, type }),
        setStatus: (_key: string, text: string | undefined) => statuses.push(text),
        select: async (_title: string, options: Array<string>) => options[1],
      },
    },
  }
}

test("registers Pi's openai-codex provider with our login, refresh and stream, and the seven commands", () => {
  const main = sim.addAccount({ accountId: "acct_ext_reg" })
  using agent = testAgent(sim)
  agent.writeMain(main)
  const registered = load({ ...agent.options.env, PI_CODING_AGENT_DIR: agent.dir })
  expect(registered.provider?.name).toBe("openai-codex")
  const config = registered.provider?.config as { api: string; oauth: Record<string, unknown>; models: Array<unknown> }
  expect(config.api).toBe("openai-codex-responses")
  expect(Object.keys(config.oauth).sort()).toEqual(["getApiKey", "isSubscription", "login", "name", "refreshToken"])
  expect(config.models.length).toBeGreaterThan(5)
  expect([...registered.commands.keys()].sort()).toEqual([
    "openai-account",
    "openai-cachekeep",
    "openai-dump",
    "openai-killswitch",
    "openai-logging",
    "openai-quota",
    "openai-routing",
  ])
  const complete = registered.commands.get("openai-cachekeep")?.getArgumentCompletions
  expect(complete?.("sub")).toEqual([
    { value: "subagents on", label: "subagents on" },
    { value: "subagents off", label: "subagents off" },
  ])
  expect(registered.events.has("session_shutdown")).toBe(true)
})

test("commands apply the shared grammar to the store beside auth.json, and a bad one shows the usage", async () => {
  const main = sim.addAccount({ accountId: "acct_ext_cmd" })
  using agent = testAgent(sim)
  agent.writeMain(main)
  const registered = load({ ...agent.options.env, PI_CODING_AGENT_DIR: agent.dir })
  const run = async (name: string, args: string, ui = context()) => {
    const command = registered.commands.get(name)
    if (command === undefined) throw new Error(`no command ${name}`)
    await command.handler(args, ui.ctx)
    return ui
  }

  const routed = await run("openai-routing", "fallback-first")
  expect(routed.notes.at(-1)?.message).toContain("fallback-first")
  expect(JSON.parse(readFileSync(agent.storePath, "utf8")).routing).toBe("fallback-first")

  const wrong = await run("openai-routing", "sideways")
  expect(wrong.notes.at(-1)).toEqual({
    message: 'unknown mode "sideways". Usage: routing [main-first | fallback-first]',
    type: "error",
  })

  // without arguments in Pi's terminal UI: the choices (the stand-in picks the second, "fallback-first" -> "off")
  const picked = await run("openai-dump", "", context("tui"))
  expect(picked.notes.at(-1)?.message).toMatch(/off/)

  // Pi's cache warmer asks before each refresh; /openai-cachekeep answers
  const decide = registered.events.get("cache_warming_decision") as () => Promise<{ action: string }>
  expect(await decide()).toEqual({ action: "stop" })
  await run("openai-cachekeep", "on")
  expect(await decide()).toEqual({ action: "warm" })
  await (registered.events.get("session_shutdown") as () => Promise<void>)()
})
