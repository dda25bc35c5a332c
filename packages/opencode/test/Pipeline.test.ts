import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { AllAccountsGated, RequestRefused } from "@cortexkit/openai-auth-accounts/RoutedClient"
import { BadRequest, BurstRateLimit, type CodexFailure, UsageLimit } from "@cortexkit/openai-auth-core/CodexError"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { HostStore, tempDir } from "../../accounts/test/support/fixture.ts"
import { makeFetch, toResponse } from "../src/Pipeline.ts"
import { makeRuntime } from "../src/Runtime.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ defaultText: "still serving" })
})
afterAll(async () => {
  await sim.stop()
})

const turn = (session: string) => ({
  method: "POST",
  headers: { "content-type": "application/json", "session-id": session },
  body: JSON.stringify({
    model: "gpt-5.5",
    input: [{ role: "user", content: [{ type: "input_text", text: "hi" }] }],
    instructions: "be brief",
    store: false,
    stream: true,
  }),
})

describe("the plugin fetch", () => {
  test("a corrupt config file is reported and left alone, and the main account keeps being served", async () => {
    using dir = tempDir()
    const main = sim.addAccount({ accountId: "acct_pipe_main", userId: "u_pipe_main" })
    const storePath = join(dir.dir, "openai-auth.json")
    const logFile = join(dir.dir, "plugin.log")
    const corrupt = '{ "routing": "fallback-first", oops'
    writeFileSync(storePath, corrupt)
    const env = {
      OPENCODE_OPENAI_AUTH_FILE: storePath,
      OPENCODE_OPENAI_AUTH_LOG_FILE: logFile,
      CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
      CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
      CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
    }
    const runtime = makeRuntime(env, new HostStore(main).layer)
    try {
      const fetch = makeFetch(runtime)
      for (const session of ["ses_corrupt_1", "ses_corrupt_2"]) {
        const response = await fetch("https://api.openai.com/v1/responses", turn(session))
        expect(response.status).toBe(200)
        expect(await response.text()).toContain("still serving")
      }
      expect(readFileSync(storePath, "utf8")).toBe(corrupt)
      expect(sim.requests.filter((r) => r.accountId === main.accountId)).toHaveLength(2)
    } finally {
      await runtime.dispose()
    }
    const log = readFileSync(logFile, "utf8")
    expect(log).toContain(storePath)
    expect(log).toContain("cannot be read")
    expect(log).not.toContain(main.tokens.access)
  })
})

describe("refusals as HTTP responses", () => {
  const now = 1_800_000_000_000
  const refused = (failure: CodexFailure, status: number) =>
    new RequestRefused({ message: failure.message, status, failure, headers: {}, account: "main", attempts: [] })

  test("a usage limit looks the same whether the last account refused or every account was gated", async () => {
    const fromBackend = toResponse(refused(new UsageLimit({ message: "limit", resetsAt: now + 90_000 }), 429), now)
    const gated = toResponse(new AllAccountsGated({ message: "limit", retryAt: now + 90_000, attempts: [] }), now)
    for (const response of [fromBackend, gated]) {
      expect(response.status).toBe(429)
      expect(response.headers.get("retry-after")).toBe("90")
      expect(await response.json()).toEqual({
        error: { type: "usage_limit_reached", message: "limit", resets_at: Math.ceil((now + 90_000) / 1000) },
      })
    }
  })

  test("a burst limit carries its retry hint; other refusals keep the backend's status", async () => {
    const burst = toResponse(refused(new BurstRateLimit({ message: "slow down", retryAfterMs: 2500 }), 429), now)
    expect(burst.status).toBe(429)
    expect(burst.headers.get("retry-after")).toBe("3")
    const bad = toResponse(refused(new BadRequest({ message: "nope", status: 400, code: "bad" }), 400), now)
    expect(bad.status).toBe(400)
    expect(bad.headers.get("retry-after")).toBeNull()
    expect(await bad.json()).toEqual({ error: { type: "BadRequest", code: "bad", message: "nope" } })
  })
})

/** Serves one turn, lets `consume` handle the answer, and checks the keep-warm tracking in the state file. */
const expectTrackedAfter = async (name: string, consume: (response: Response) => Promise<unknown>) => {
  using dir = tempDir()
  const main = sim.addAccount({ accountId: `acct_pipe_${name}`, userId: `u_pipe_${name}` })
  const storePath = join(dir.dir, "openai-auth.json")
  writeFileSync(storePath, JSON.stringify({ version: 1, cacheKeep: { enabled: true, subagents: false } }))
  const env = {
    OPENCODE_OPENAI_AUTH_FILE: storePath,
    OPENCODE_OPENAI_AUTH_LOG_FILE: join(dir.dir, "plugin.log"),
    CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
    CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
    CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
  }
  const runtime = makeRuntime(env, new HostStore(main).layer)
  try {
    await consume(await makeFetch(runtime)("https://api.openai.com/v1/responses", turn(`ses_pipe_${name}`)))
    const statePath = join(dir.dir, "openai-auth-state.json")
    const deadline = Date.now() + 10_000
    let state: { keepWarm?: { enabled: boolean; tracked: number }; lastServed?: { key: string } } = {}
    while (Date.now() < deadline) {
      state = existsSync(statePath) ? JSON.parse(readFileSync(statePath, "utf8")) : {}
      if (state.keepWarm?.tracked === 1) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    expect(state.keepWarm).toMatchObject({ enabled: true, tracked: 1 })
    expect(state.lastServed?.key).toBe("main")
  } finally {
    await runtime.dispose()
  }
}

test("a served request is tracked for keep-warm and the state file says so", () =>
  expectTrackedAfter("warm", (response) => response.text()))

test("the bookkeeping runs when the answer ends, also when the host cancels it unread", () =>
  expectTrackedAfter("cancel", async (response) => response.body?.cancel()))
