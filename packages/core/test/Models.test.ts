import { describe, expect, test } from "bun:test"
import {
  applyCatalog,
  CATALOG,
  CATALOG_CLIENT_VERSION,
  catalogModel,
  clampEffort,
  clientVersionFor,
  compareVersions,
  EFFORT_ORDER,
  type HostModel,
  isOAuthEligible,
  reasoningVariants,
} from "@cortexkit/openai-auth-core/Models"
import fc from "fast-check"

describe("catalog", () => {
  test("holds the required models, each with sane limits and efforts", () => {
    const slugs = CATALOG.map((m) => m.slug)
    for (const slug of [
      "gpt-5.5",
      "gpt-5.4",
      "gpt-5.4-mini",
      "gpt-5.3-codex-spark",
      "gpt-5.2",
      "gpt-5.6-sol",
      "gpt-5.6-terra",
      "gpt-5.6-luna",
      "gpt-6-sol",
      "gpt-6-luna",
      "gpt-6-astra",
    ]) {
      expect(slugs).toContain(slug)
    }
    expect(new Set(slugs).size).toBe(slugs.length)
    for (const m of CATALOG) {
      expect(m.limit.input + m.limit.output).toBeLessThanOrEqual(m.limit.context)
      expect(m.efforts).toContain(m.defaultEffort)
      const ranks = m.efforts.map((e) => EFFORT_ORDER.indexOf(e))
      expect(ranks).toEqual([...ranks].sort((a, b) => a - b))
    }
    expect(catalogModel("gpt-5.5")?.limit).toEqual({ context: 400_000, input: 272_000, output: 128_000 })
    expect(catalogModel("gpt-5.6-sol")?.limit).toEqual({ context: 500_000, input: 372_000, output: 128_000 })
    expect(CATALOG.filter((m) => m.responsesLite).map((m) => m.slug)).toEqual([
      "gpt-5.6-sol",
      "gpt-5.6-terra",
      "gpt-5.6-luna",
    ])
  })

  test.each([
    ["gpt-5.5", true],
    ["gpt-5.2", true],
    ["gpt-5.3-codex-spark", true],
    ["gpt-5.6-sol", true],
    ["gpt-6-astra", true],
    ["gpt-5.7", true],
    ["gpt-7-nova", true],
    ["gpt-5.5-fast", true],
    ["gpt-5.5-pro", false],
    ["gpt-5.6", false],
    ["gpt-5.1-codex", false],
    ["gpt-4o", false],
    ["o3", false],
    ["claude-sonnet-4", false],
  ])("isOAuthEligible(%s) = %s", (id, eligible) => {
    expect(isOAuthEligible(id)).toBe(eligible)
  })

  test.each([
    ["gpt-5.6-sol", "ultra", "max"],
    ["gpt-5.6-luna", "ultra", "max"],
    ["gpt-5.5", "ultra", "xhigh"],
    ["gpt-5.5", "max", "xhigh"],
    ["gpt-5.5", "minimal", "low"],
    ["gpt-5.5", "none", "low"],
    // codex-rs models.json @069e6b19 offers gpt-5.4 low..xhigh only (a third-party matrix says `none` too)
    ["gpt-5.4", "none", "low"],
    ["gpt-5.4", "minimal", "low"],
    ["gpt-6-astra", "none", "low"],
    ["gpt-6-astra", "max", "max"],
    ["gpt-5.5", "medium", "medium"],
    ["gpt-5.5", "whatever", "medium"],
    ["gpt-5.6-sol", "whatever", "low"],
    ["gpt-9-unknown", "ultra", "max"],
    ["gpt-9-unknown", "minimal", "low"],
  ])("clampEffort(%s, %s) = %s", (model, effort, wire) => {
    expect(clampEffort(model, effort)).toBe(wire as ReturnType<typeof clampEffort>)
  })

  test("property: the clamped effort is always a wire effort the model supports, and clamping is idempotent", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CATALOG.map((m) => m.slug), "gpt-9"),
        fc.oneof(fc.constantFrom(...EFFORT_ORDER), fc.string()),
        (model, effort) => {
          const wire = clampEffort(model, effort)
          expect(wire).not.toBe("ultra")
          expect(catalogModel(model)?.efforts ?? ["low", "medium", "high", "xhigh", "max"]).toContain(wire)
          expect(clampEffort(model, wire)).toBe(wire)
        },
      ),
    )
  })
})

describe("client versions (the catalog rows are in vectors/models.vectors.test.ts)", () => {
  test.each([
    ["gpt-5.5", CATALOG_CLIENT_VERSION],
    ["gpt-5.6-sol", CATALOG_CLIENT_VERSION],
    ["gpt-6-astra", "0.153.0"],
    ["gpt-9-unknown", CATALOG_CLIENT_VERSION],
  ])("the version header for %s is %s", (model, version) => {
    expect(clientVersionFor(model)).toBe(version)
    expect(compareVersions(version, catalogModel(model)?.minimalClientVersion ?? "0.0.0")).toBeGreaterThanOrEqual(0)
  })

  test.each([
    ["0.144.0", "0.142.2", 1],
    ["0.98.0", "0.124.0", -1],
    ["0.144.0", "0.144", 0],
    ["1.0.0", "0.999.9", 1],
  ])("compareVersions(%s, %s) = %d", (a, b, sign) => {
    expect(compareVersions(a, b)).toBe(sign)
  })
})

// OpenCode's provider record after its built-in OAuth filter (shape of ModelV2, trimmed).
const hostModel = (id: string, extra: Partial<HostModel> = {}): HostModel & Record<string, unknown> => {
  const api = { id, url: "https://api.openai.com/v1", npm: "@ai-sdk/openai" }
  return {
    id,
    providerID: "openai",
    name: id.toUpperCase(),
    api,
    cost: { input: 1.25, output: 10, cache: { read: 0.125, write: 0 } },
    limit: { context: 400_000, output: 128_000 },
    capabilities: { reasoning: true, toolcall: true, attachment: true },
    options: {},
    variants: { low: { reasoningEffort: "low" } },
    ...extra,
  }
}

describe("applyCatalog", () => {
  const record = {
    "gpt-5.5": hostModel("gpt-5.5"),
    "gpt-5.5-fast": hostModel("gpt-5.5-fast", { api: { id: "gpt-5.5" }, options: { serviceTier: "priority" } }),
    "gpt-5.4": hostModel("gpt-5.4", { limit: { context: 1_050_000, input: 922_000, output: 128_000 } }),
    "gpt-5.4-mini": hostModel("gpt-5.4-mini"),
    "gpt-5.5-pro": hostModel("gpt-5.5-pro"),
    "gpt-5.6": hostModel("gpt-5.6"),
    // OpenCode's synthetic fast variant of the bare family name: its wire id is one we do not serve
    "gpt-5.6-fast": hostModel("gpt-5.6-fast", { api: { id: "gpt-5.6" } }),
    "gpt-5.5-deep": hostModel("gpt-5.5-deep", { options: { reasoningMode: "pro" } }),
    "gpt-4o": hostModel("gpt-4o"),
  }
  const before = JSON.stringify(record)
  const out = applyCatalog(record)

  test("keeps only eligible models and does not touch its input", () => {
    expect(JSON.stringify(record)).toBe(before)
    for (const id of ["gpt-5.5-pro", "gpt-5.6", "gpt-5.6-fast", "gpt-5.5-deep", "gpt-4o"]) {
      expect(out[id]).toBeUndefined()
    }
    for (const id of ["gpt-5.5", "gpt-5.5-fast", "gpt-5.4", "gpt-5.4-mini"]) expect(out[id]).toBeDefined()
  })

  test("costs are zeroed, limits and reasoning variants come from the catalog", () => {
    for (const model of Object.values(out)) {
      expect(model.cost).toEqual({ input: 0, output: 0, cache: { read: 0, write: 0 } })
    }
    expect(out["gpt-5.4"]?.limit).toEqual({ context: 400_000, input: 272_000, output: 128_000 })
    expect(Object.keys(out["gpt-5.5"]?.variants ?? {})).toEqual(["low", "medium", "high", "xhigh"])
    expect(out["gpt-5.5"]?.variants?.high).toEqual({
      reasoningEffort: "high",
      reasoningSummary: "auto",
      include: ["reasoning.encrypted_content"],
    })
    // the fast mode keeps its own options and gets the variants of its wire model
    expect(out["gpt-5.5-fast"]?.options).toEqual({ serviceTier: "priority" })
    expect(Object.keys(out["gpt-5.5-fast"]?.variants ?? {})).toContain("xhigh")
  })

  test("catalog models the host's filter dropped are re-added as clones of a sibling", () => {
    for (const entry of CATALOG) {
      const model = out[entry.slug]
      expect(model?.id).toBe(entry.slug)
      expect(model?.api?.id).toBe(entry.slug)
      expect(model?.name).toBe(entry.slug in record ? entry.slug.toUpperCase() : entry.name)
      expect(model?.limit).toEqual({ ...entry.limit })
      expect(Object.keys(model?.variants ?? {})).toEqual([...entry.efforts])
    }
    const sol = out["gpt-5.6-sol"] as Record<string, unknown>
    expect(sol.name).toBe("GPT-5.6 Sol")
    expect(sol.providerID).toBe("openai")
    expect(sol.capabilities).toEqual({ reasoning: true, toolcall: true, attachment: true })
    expect((sol.api as Record<string, unknown>).npm).toBe("@ai-sdk/openai")
    // a clone, not a shared reference
    expect(sol.capabilities).not.toBe((out["gpt-5.5"] as Record<string, unknown>).capabilities)
    const solEntry = catalogModel("gpt-5.6-sol")
    expect(solEntry && Object.keys(reasoningVariants(solEntry))).toContain("ultra")
  })

  test("an empty record stays empty (nothing to clone from)", () => {
    expect(applyCatalog({})).toEqual({})
  })
})
