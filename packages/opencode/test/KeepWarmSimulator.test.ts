import { expect } from "bun:test"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { it } from "@cortexkit/openai-auth-testkit/Test"
import { Deferred, Effect } from "effect"
import { TestClock } from "effect/testing"
import { KeepWarm, type WarmEvent, type WarmRequest, type WarmUsage } from "../src/KeepWarm.ts"

interface UsageJson {
  readonly input_tokens: number
  readonly output_tokens: number
  readonly input_tokens_details?: { readonly cached_tokens?: number }
}

/** POSTs a Codex body and reads the usage off `response.completed` */
const post = async (endpoint: string, access: string, accountId: string, body: unknown): Promise<WarmUsage> => {
  const response = await fetch(endpoint, {
    method: "POST",
    headers: {
      authorization: `Bearer ${access}`,
      "chatgpt-account-id": accountId,
      "content-type": "application/json",
      accept: "text/event-stream",
      // the backend refuses models to a client that names no recent enough version
      version: "0.144.0",
    },
    body: JSON.stringify(body),
  })
  const text = await response.text()
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${text}`)
  for (const block of text.split("\n\n")) {
    if (!block.startsWith("event: response.completed")) continue
    const data = block.split("\n").find((line) => line.startsWith("data: "))
    const usage = (JSON.parse(data?.slice(6) ?? "{}") as { response?: { usage?: UsageJson } }).response?.usage
    if (usage !== undefined) {
      return {
        inputTokens: usage.input_tokens,
        cachedTokens: usage.input_tokens_details?.cached_tokens ?? 0,
        outputTokens: usage.output_tokens,
      }
    }
  }
  throw new Error("no response.completed in the stream")
}

it.effect("a warm POSTed to the simulator reads the session's cached prefix back", () =>
  Effect.gen(function* () {
    const sim = yield* Effect.acquireRelease(
      Effect.promise(() => startSimulator()),
      (s) => Effect.promise(() => s.stop()),
    )
    const account = sim.addAccount({ accountId: "acct_a" })
    const body = {
      model: "gpt-5.5",
      instructions: `You are a coding agent. ${"Follow the repository conventions. ".repeat(200)}`,
      tools: [{ type: "function", name: "read", description: "read a file", parameters: { type: "object" } }],
      input: [{ role: "user", content: [{ type: "input_text", text: "what does this repo do?" }] }],
      reasoning: { effort: "high", summary: "auto" },
      store: false,
      stream: true,
      prompt_cache_key: "ses_sim",
    }
    const first = yield* Effect.promise(() => post(sim.codexEndpoint, account.tokens.access, "acct_a", body))
    expect(first.cachedTokens).toBe(0)

    const done = yield* Deferred.make<WarmEvent>()
    const warm = (request: WarmRequest) =>
      Effect.tryPromise(() => post(sim.codexEndpoint, account.tokens.access, request.account, request.body)).pipe(
        Effect.map((usage): { usage: WarmUsage } => ({ usage })),
      )
    const keepWarm = yield* KeepWarm.make({
      settings: Effect.succeed({ enabled: true, subagents: false }),
      warm,
      onWarm: (event) => Deferred.succeed(done, event).pipe(Effect.asVoid),
    }).pipe(Effect.provide(Logger.layerSilent))
    yield* keepWarm.track({ sessionKey: "ses_sim", account: "acct_a", subagent: false, body, model: "gpt-5.5" })
    yield* TestClock.adjust(4.5 * 60_000)

    // a hang here is bounded by the bun test timeout (the TestClock would never fire an Effect timeout)
    const event = yield* Deferred.await(done)
    expect(event).toMatchObject({ ok: true, sessionKey: "ses_sim", account: "acct_a" })
    const usage = event.usage ?? { inputTokens: 0, cachedTokens: 0, outputTokens: 0 }
    expect(usage.inputTokens).toBeGreaterThan(1000)
    expect(usage.cachedTokens / usage.inputTokens).toBeGreaterThan(0.95)

    const sent = sim.requests.at(-1)?.body as Record<string, unknown>
    expect(sent.store).toBe(false)
    expect(sent.prompt_cache_key).toBe("ses_sim")
    expect(sent.reasoning).toEqual({ effort: "low", summary: "auto" })
    expect(sim.requests.at(-1)?.accountId).toBe("acct_a")
    const status = yield* keepWarm.status
    expect(status.lastWarm?.usage).toEqual(usage)
    expect(status.tracked[0]?.warms).toBe(1)
  }),
)
