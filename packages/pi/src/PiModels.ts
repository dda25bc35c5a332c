/**
 * The model list our provider gives Pi: Pi's own `openai-codex` catalog, restricted to the ids a ChatGPT
 * account may use, with no per-token price (a subscription pays none, and a price would make Pi's cost line
 * lie), Codex's prompt-cache lifetime (so Pi's cache warmer can keep it warm, when `/openai-cachekeep` says
 * so), and every model of our catalog that Pi's lacks, cloned from its nearest sibling. Pure: Pi's
 * catalog is passed in.
 *
 * Pi 1.6 sends newer request features to the models whose `compat` allows them: tools as an
 * `additional_tools` input item instead of top-level `tools`, tool search, grammar tools, effort changes as
 * `configuration_update` items, system messages in mid-conversation. They are switched off here, so Pi builds
 * the request shape the Codex client sends and our rewrite and cache stabilizer are made for (top-level
 * `tools`, the system prompt up front; docs/protocol.md §3) — see docs/pi.md.
 */
import { CATALOG, type CatalogModel, isOAuthEligible } from "@cortexkit/openai-auth-core/Models"

/** The fields of a Pi model definition (`ProviderModelConfig`) that this module reads or writes. */
export interface PiModel {
  readonly id: string
  readonly name: string
  readonly contextWindow: number
  readonly maxTokens: number
  readonly reasoning?: boolean
  readonly cost?: unknown
  readonly promptCache?: { readonly short?: number; readonly long?: number }
  readonly thinkingLevelMap?: Readonly<Record<string, string | null>>
  readonly [key: string]: unknown
}

/** How long Codex keeps a prompt's cached prefix (seconds): ~5 min, ~30 for gpt-5.6-* (docs/protocol.md §8). */
export const cacheSeconds = (id: string): number => (id.startsWith("gpt-5.6-") ? 1800 : 300)

const ZERO_COST = { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }

/** Pi's thinking levels onto the efforts a catalog model accepts (Pi sends `minimal` as the map says). */
const levelsFor = (entry: CatalogModel): Record<string, string | null> => {
  const out: Record<string, string | null> = {}
  const floor = entry.efforts.find((e) => e !== "none") ?? "low"
  out.off = entry.efforts.includes("none") ? "none" : null
  out.minimal = floor
  for (const level of ["low", "medium", "high", "xhigh", "max"]) {
    if (entry.efforts.includes(level as CatalogModel["efforts"][number])) out[level] = level
  }
  return out
}

/** Pi's request features our rewrite does not know, all off (pi-ai openai-codex-responses.js buildRequestBody). */
export const CLASSIC_SHAPE = {
  supportsAdditionalTools: false,
  supportsToolSearch: false,
  supportsOpenAIGrammarTools: false,
  supportsMidConvoSystemMessages: false,
  supportsMidConvoEffort: false,
} as const

const fixUp = (model: PiModel): PiModel => ({
  ...model,
  cost: ZERO_COST,
  promptCache: { ...model.promptCache, short: cacheSeconds(model.id) },
  compat: { ...(model.compat as object | undefined), ...CLASSIC_SHAPE },
})

export const piModels = (builtIn: ReadonlyArray<PiModel>): Array<PiModel> => {
  const kept = builtIn.filter((m) => isOAuthEligible(m.id)).map(fixUp)
  const known = new Set(kept.map((m) => m.id))
  for (const entry of CATALOG) {
    if (known.has(entry.slug)) continue
    const family = entry.slug.split("-").slice(0, 2).join("-")
    const sibling = kept.find((m) => m.id.startsWith(family)) ?? kept[0]
    if (sibling === undefined) continue
    kept.push(
      fixUp({
        ...sibling,
        id: entry.slug,
        name: entry.name,
        contextWindow: entry.limit.input,
        maxTokens: entry.limit.output,
        reasoning: true,
        thinkingLevelMap: levelsFor(entry),
      }),
    )
  }
  return kept
}
