/**
 * Model vectors: the catalog rows of codex-rs's models.json, and the host model lists the seed's
 * implementation and OpenCode's own Codex plugin filter. Each case names its source.
 */
import { describe, expect, test } from "bun:test"
import { applyCatalog, catalogModel, type HostModel, isOAuthEligible } from "@cortexkit/openai-auth-core/Models"

const CK = "cortexkit/openai-auth packages/opencode/src/tests/model-filter.test.ts"
const OC = "anomalyco/opencode packages/opencode/test/plugin/codex.test.ts"

const host = (id: string, apiId = id, options: Record<string, unknown> = {}): HostModel & Record<string, unknown> => ({
  id,
  name: id,
  api: { id: apiId },
  options,
  cost: { input: 5, output: 10, cache: { read: 1, write: 2 } },
  limit: { context: 1_050_000, input: 922_000, output: 128_000 },
})

const surfaced = (ids: ReadonlyArray<readonly [string, string?, Record<string, unknown>?]>) =>
  applyCatalog(Object.fromEntries(ids.map(([id, api, options]) => [id, host(id, api, options)])))

describe("the catalog is codex-rs's (openai/codex codex-rs/models-manager/models.json @069e6b19)", () => {
  // one row per model: slug, context_window, efforts, default_reasoning_level, default_verbosity,
  // use_responses_lite, minimal_client_version
  test.each([
    ["gpt-5.6-sol", 372_000, "low medium high xhigh max ultra", "low", "low", true, "0.142.2"],
    ["gpt-5.6-terra", 372_000, "low medium high xhigh max ultra", "medium", "low", true, "0.142.2"],
    ["gpt-5.6-luna", 372_000, "low medium high xhigh max", "medium", "low", true, "0.142.2"],
    ["gpt-5.5", 272_000, "low medium high xhigh", "medium", "low", false, "0.124.0"],
    ["gpt-5.4", 272_000, "low medium high xhigh", "medium", "low", false, "0.98.0"],
    ["gpt-5.4-mini", 272_000, "low medium high xhigh", "medium", "medium", false, "0.98.0"],
    ["gpt-5.2", 272_000, "low medium high xhigh", "medium", "low", false, "0.0.1"],
  ] as const)("%s", (slug, context, efforts, effort, verbosity, lite, version) => {
    const m = catalogModel(slug)
    expect(m?.limit.input).toBe(context)
    expect(m?.efforts.join(" ")).toBe(efforts)
    expect(m?.defaultEffort).toBe(effort)
    expect(m?.verbosity).toEqual({ supported: true, default: verbosity })
    expect(m?.responsesLite).toBe(lite)
    // every row of that file: supports_parallel_tool_calls true
    expect(m?.parallelToolCalls).toBe(true)
    expect(m?.minimalClientVersion).toBe(version)
    expect(m?.verified).toBe(true)
  })

  test("codex-auto-review (visibility hide) is not served to hosts", () => {
    expect(catalogModel("codex-auto-review")).toBeUndefined()
    expect(isOAuthEligible("codex-auto-review")).toBe(false)
  })
})

describe("which host models are served", () => {
  // CK "drops the suffix-less gpt-5.6 and its -fast/-pro synthetics" (filtered by API id)
  test(`${CK}: gpt-5.6 and its synthetics (api.id gpt-5.6) are dropped`, () => {
    const out = surfaced([["gpt-5.6"], ["gpt-5.6-fast", "gpt-5.6"], ["gpt-5.6-pro", "gpt-5.6"], ["gpt-5.5"]])
    expect(out["gpt-5.6"]).toBeUndefined()
    expect(out["gpt-5.6-fast"]).toBeUndefined()
    expect(out["gpt-5.6-pro"]).toBeUndefined()
  })

  // CK "keeps the -luna/-sol/-terra models and their native reasoning variants"
  test(`${CK}: luna, sol, terra and luna's fast variant are kept`, () => {
    const out = surfaced([["gpt-5.6-luna"], ["gpt-5.6-luna-fast", "gpt-5.6-luna"], ["gpt-5.6-sol"], ["gpt-5.6-terra"]])
    for (const id of ["gpt-5.6-luna", "gpt-5.6-luna-fast", "gpt-5.6-sol", "gpt-5.6-terra"])
      expect(out[id]).toBeDefined()
  })

  // CK "drops legacy reasoning-mode pro models for supported 5.6 slugs"
  test(`${CK}: reasoning-mode pro models are dropped`, () => {
    const out = surfaced([["gpt-5.6-luna-pro", "gpt-5.6-luna", { reasoningMode: "pro" }], ["gpt-5.6-sol"]])
    expect(out["gpt-5.6-luna-pro"]).toBeUndefined()
  })

  // CK "keeps allow-listed models and drops pre-5.4 models"
  test(`${CK}: gpt-5.4 and gpt-5.5 kept, gpt-4.1 dropped`, () => {
    const out = surfaced([["gpt-5.4"], ["gpt-5.5"], ["gpt-4.1"]])
    expect(out["gpt-5.4"]).toBeDefined()
    expect(out["gpt-5.5"]).toBeDefined()
    expect(out["gpt-4.1"]).toBeUndefined()
  })

  // CK "keeps the gpt-5.5 400k downshift"
  test(`${CK}: gpt-5.5 gets 400k / 272k / 128k`, () => {
    expect(surfaced([["gpt-5.5"]])["gpt-5.5"]?.limit).toEqual({ context: 400_000, input: 272_000, output: 128_000 })
  })

  // CK "assigns gpt-5.6 variants the real 372k context window" (context 372k, input 244k): codex-rs's
  // context_window of 372,000 is the input budget Codex plans with, as 272,000 is gpt-5.5's (whose API
  // context is 400k); codex-rs decides (docs/protocol.md)
  test(`${CK}: gpt-5.6 plans with 372k of input (deviation: input 372k, context 500k)`, () => {
    expect(surfaced([["gpt-5.6-luna"]])["gpt-5.6-luna"]?.limit).toEqual({
      context: 500_000,
      input: 372_000,
      output: 128_000,
    })
  })

  // OC "keeps gpt-5.4-mini in models" / "filters out gpt-5.4-nano (API-only)"
  test(`${OC}: gpt-5.4-mini kept, gpt-5.4-nano dropped`, () => {
    expect(isOAuthEligible("gpt-5.4-mini")).toBe(true)
    expect(isOAuthEligible("gpt-5.4-nano")).toBe(false)
  })

  // OC "filters out unrelated non-codex models"
  test.each(["gpt-4o", "gpt-4-turbo", "o1-preview", "claude-3", "some-random-model"])(`${OC}: %s is dropped`, (id) => {
    expect(isOAuthEligible(id)).toBe(false)
  })

  // OC "keeps explicitly allowed non-codex models"
  test(`${OC}: gpt-5.4 and gpt-5.2 kept`, () => {
    expect(isOAuthEligible("gpt-5.4")).toBe(true)
    expect(isOAuthEligible("gpt-5.2")).toBe(true)
  })

  // OC "keeps all codex-named models": the backend retired them ("The 'gpt-5.3-codex' model is not supported
  // when using Codex with a ChatGPT account", openai/codex#25838), so we drop them (deviation)
  test.each(["gpt-5.3-codex", "gpt-5.2-codex", "gpt-5.1-codex-mini", "gpt-5.1-codex-max"])(
    `${OC}: %s is dropped (retired by the backend; deviation)`,
    (id) => {
      expect(isOAuthEligible(id)).toBe(false)
    },
  )
})
