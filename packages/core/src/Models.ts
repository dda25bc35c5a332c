/**
 * The models a ChatGPT Plus/Pro OAuth account can use on the Codex backend, as one data table, and the
 * helpers that apply it: which ids are eligible, which reasoning efforts each model accepts on the wire,
 * and how to fix up the host's model list (OpenCode's built-in filter drops some of these and prices all
 * of them as if they were API models).
 *
 * Sources: Codex CLI's bundled models.json (~0.144), the live catalog, and issue reports for the GPT-6
 * family (see codex-protocol.md §7). Rows marked `verified: false` are from reports only.
 */

export type Effort = "none" | "minimal" | "low" | "medium" | "high" | "xhigh" | "max" | "ultra"

/** Effort levels from least to most; clamping walks this order. */
export const EFFORT_ORDER: ReadonlyArray<Effort> = ["none", "minimal", "low", "medium", "high", "xhigh", "max", "ultra"]

export interface CatalogModel {
  readonly slug: string
  readonly name: string
  readonly limit: { readonly context: number; readonly input: number; readonly output: number }
  /** efforts the user may pick; `ultra` is logical and goes on the wire as `max` */
  readonly efforts: ReadonlyArray<Effort>
  readonly defaultEffort: Effort
  /** "Responses Lite" models: extra header, no parallel tool calls, no cache-stabilizer tool */
  readonly responsesLite: boolean
  readonly verified: boolean
}

const STANDARD = { context: 400_000, input: 272_000, output: 128_000 } as const
const FOUR: ReadonlyArray<Effort> = ["low", "medium", "high", "xhigh"]
const FOUR_NONE: ReadonlyArray<Effort> = ["none", "low", "medium", "high", "xhigh"]
const TO_MAX: ReadonlyArray<Effort> = ["low", "medium", "high", "xhigh", "max"]
const TO_ULTRA: ReadonlyArray<Effort> = ["low", "medium", "high", "xhigh", "max", "ultra"]

const row = (
  slug: string,
  name: string,
  efforts: ReadonlyArray<Effort>,
  defaultEffort: Effort,
  extra: Partial<Pick<CatalogModel, "limit" | "responsesLite" | "verified">> = {},
): CatalogModel => ({
  slug,
  name,
  limit: extra.limit ?? STANDARD,
  efforts,
  defaultEffort,
  responsesLite: extra.responsesLite ?? false,
  verified: extra.verified ?? true,
})

export const CATALOG: ReadonlyArray<CatalogModel> = [
  row("gpt-5.5", "GPT-5.5", FOUR, "medium"),
  row("gpt-5.4", "GPT-5.4", FOUR_NONE, "medium"),
  row("gpt-5.4-mini", "GPT-5.4 mini", FOUR_NONE, "medium"),
  // A small fast model with a smaller window; limits are an estimate.
  row("gpt-5.3-codex-spark", "GPT-5.3 Codex Spark", FOUR, "medium", {
    limit: { context: 128_000, input: 100_000, output: 28_000 },
    verified: false,
  }),
  row("gpt-5.2", "GPT-5.2", FOUR_NONE, "medium"),
  row("gpt-5.6-sol", "GPT-5.6 Sol", TO_ULTRA, "low", { responsesLite: true }),
  row("gpt-5.6-terra", "GPT-5.6 Terra", TO_ULTRA, "medium", { responsesLite: true }),
  row("gpt-5.6-luna", "GPT-5.6 Luna", TO_MAX, "medium", { responsesLite: true }),
  row("gpt-6-sol", "GPT-6 Sol", TO_MAX, "medium", { verified: false }),
  row("gpt-6-luna", "GPT-6 Luna", TO_MAX, "medium", { verified: false }),
  row("gpt-6-astra", "GPT-6 Astra", TO_ULTRA, "medium", { verified: false }),
]

const BY_SLUG: ReadonlyMap<string, CatalogModel> = new Map(CATALOG.map((m) => [m.slug, m]))

export const catalogModel = (slug: string): CatalogModel | undefined => BY_SLUG.get(slug)

/** Never eligible even though the version rule would allow them (API-only or bare family names). */
const DENIED = new Set(["gpt-5.5-pro", "gpt-5.6", "gpt-6"])

/**
 * Whether a ChatGPT OAuth account may use this model id on the Codex backend: every catalog model, plus
 * (like OpenCode's own filter) any newer `gpt-<major>.<minor>` than 5.4, minus the denied ids.
 */
export const isOAuthEligible = (id: string): boolean => {
  if (BY_SLUG.has(id)) return true
  if (DENIED.has(id) || id.endsWith("-pro")) return false
  const match = /^gpt-(\d+)(?:\.(\d+))?/.exec(id)
  if (match === null) return false
  const major = Number(match[1])
  const minor = match[2] === undefined ? 0 : Number(match[2])
  return major > 5 || (major === 5 && minor > 4)
}

const rank = (effort: Effort): number => EFFORT_ORDER.indexOf(effort)
const isEffort = (value: string): value is Effort => (EFFORT_ORDER as ReadonlyArray<string>).includes(value)

/** Efforts assumed for eligible models the catalog does not know yet. */
const FALLBACK_EFFORTS: ReadonlyArray<Effort> = TO_MAX

/**
 * The effort to put on the wire for `model`: `ultra` becomes `max`; anything unsupported is clamped down to
 * the nearest supported level (or up to the lowest one, e.g. `minimal`/`none` on models without them);
 * unknown strings become the model's default.
 */
export const clampEffort = (model: string, effort: string): Effort => {
  const entry = BY_SLUG.get(model)
  const efforts = entry?.efforts ?? FALLBACK_EFFORTS
  const wanted: Effort = isEffort(effort) ? effort : (entry?.defaultEffort ?? "medium")
  const wire = wanted === "ultra" ? "max" : wanted
  const supported = efforts.filter((e) => e !== "ultra")
  if (supported.includes(wire)) return wire
  // Below the model's floor (`none`, `minimal`): the lowest real level; `minimal` never turns reasoning off.
  const floor = supported.filter((e) => e !== "none")
  if (rank(wire) <= rank("minimal")) return floor[0] ?? supported[0] ?? "medium"
  let best: Effort | undefined
  for (const e of supported) if (rank(e) <= rank(wire) && (best === undefined || rank(e) > rank(best))) best = e
  return best ?? floor[0] ?? "medium"
}

// ---------------------------------------------------------------------------------------------------------
// The host's model list (OpenCode `ModelV2`-like records, matched structurally)

export interface HostModel {
  readonly id: string
  readonly name: string
  readonly cost?: unknown
  readonly limit: { readonly context: number; readonly input?: number; readonly output: number }
  readonly variants?: Readonly<Record<string, Readonly<Record<string, unknown>>>>
  readonly options?: Readonly<Record<string, unknown>>
  readonly api?: { readonly id: string }
}

const plainClone = <T>(value: T): T => {
  if (Array.isArray(value)) return value.map(plainClone) as T
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {}
    for (const key of Object.keys(value)) out[key] = plainClone((value as Record<string, unknown>)[key])
    return out as T
  }
  return value
}

const zeroCost = (cost: unknown): unknown => {
  if (typeof cost === "number") return 0
  if (typeof cost !== "object" || cost === null) return cost
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(cost)) out[key] = zeroCost((cost as Record<string, unknown>)[key])
  return out
}

const ZERO_COST = { input: 0, output: 0, cache: { read: 0, write: 0 } }

/** One variant per supported effort, in the shape OpenCode's openai provider uses for its variants. */
export const reasoningVariants = (model: CatalogModel): Record<string, Record<string, unknown>> => {
  const out: Record<string, Record<string, unknown>> = {}
  for (const effort of model.efforts) {
    out[effort] = { reasoningEffort: effort, reasoningSummary: "auto", include: ["reasoning.encrypted_content"] }
  }
  return out
}

const wireId = (model: HostModel): string => model.api?.id ?? model.id

const fixUp = <M extends HostModel>(model: M, entry: CatalogModel | undefined): M => {
  const out = { ...model } as Record<string, unknown>
  out.cost = model.cost === undefined ? ZERO_COST : zeroCost(model.cost)
  if (entry !== undefined) {
    out.limit = { ...model.limit, ...entry.limit }
    // OpenCode derives its variants from API-side metadata; the wire truth for OAuth is the catalog's.
    out.variants = reasoningVariants(entry)
  }
  return out as unknown as M
}

/** The sibling a missing catalog model is cloned from: same family first, then any eligible entry. */
const pickSibling = <M extends HostModel>(kept: ReadonlyArray<M>, slug: string): M | undefined => {
  const family = slug.split("-").slice(0, 2).join("-")
  return kept.find((m) => wireId(m).startsWith(family)) ?? kept.find((m) => BY_SLUG.has(wireId(m))) ?? kept[0]
}

/**
 * The host's models restricted to OAuth-eligible ones, with costs zeroed, limits and reasoning variants from
 * the catalog, and every catalog model the host's filter dropped added back as a clone of a sibling entry
 * (id, `api.id` and name changed). Returns a new record; the input is not modified.
 */
export const applyCatalog = <M extends HostModel>(models: Readonly<Record<string, M>>): Record<string, M> => {
  const out: Record<string, M> = {}
  const kept: Array<M> = []
  for (const key of Object.keys(models)) {
    const model = models[key]
    if (model === undefined || model.options?.reasoningMode === "pro") continue
    if (!isOAuthEligible(wireId(model)) && !isOAuthEligible(model.id)) continue
    const fixed = fixUp(model, BY_SLUG.get(wireId(model)))
    out[key] = fixed
    kept.push(fixed)
  }
  const present = new Set(kept.flatMap((m) => [m.id, wireId(m)]))
  for (const entry of CATALOG) {
    if (present.has(entry.slug) || out[entry.slug] !== undefined) continue
    const sibling = pickSibling(kept, entry.slug)
    if (sibling === undefined) continue
    const clone = plainClone(sibling) as Record<string, unknown>
    clone.id = entry.slug
    clone.name = entry.name
    if (typeof clone.api === "object" && clone.api !== null) clone.api = { ...clone.api, id: entry.slug }
    clone.variants = {}
    out[entry.slug] = fixUp(clone as unknown as M, entry)
  }
  return out
}
