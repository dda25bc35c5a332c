/**
 * The models a ChatGPT Plus/Pro OAuth account can use on the Codex backend, as one data table, and the
 * helpers that apply it: which ids are eligible, which reasoning efforts each model accepts on the wire,
 * which client version it needs, and how to fix up the host's model list (OpenCode's built-in filter drops
 * some of these and prices all of them as if they were API models).
 *
 * Source: Codex CLI's bundled catalog, codex-rs/models-manager/models.json at openai/codex@069e6b19 (Codex
 * ~0.144): `context_window` (the input budget Codex plans with), `supported_reasoning_levels`,
 * `default_reasoning_level`, `support_verbosity` / `default_verbosity`, `supports_parallel_tool_calls`,
 * `use_responses_lite`, `minimal_client_version`. Rows not in that file are marked `verified: false` and
 * come from issue reports (docs/protocol.md §7). Output limits are not in the catalog: 128k, as for the
 * whole GPT-5 family on the API, and `context` is input + output.
 */

export type Effort = "none" | "minimal" | "low" | "medium" | "high" | "xhigh" | "max" | "ultra"

/** Effort levels from least to most; clamping walks this order. */
export const EFFORT_ORDER: ReadonlyArray<Effort> = ["none", "minimal", "low", "medium", "high", "xhigh", "max", "ultra"]

export type Verbosity = "low" | "medium" | "high"

export interface CatalogModel {
  readonly slug: string
  readonly name: string
  readonly limit: { readonly context: number; readonly input: number; readonly output: number }
  /** efforts the user may pick; `ultra` is logical and goes on the wire as `max` */
  readonly efforts: ReadonlyArray<Effort>
  readonly defaultEffort: Effort
  /** "Responses Lite" models: the Lite wire shape (instructions and tools in `input`), no parallel calls */
  readonly responsesLite: boolean
  /** the default for `parallel_tool_calls` when the host leaves it out */
  readonly parallelToolCalls: boolean
  /** whether `text.verbosity` may be sent, and the model's default */
  readonly verbosity: { readonly supported: boolean; readonly default: Verbosity }
  /** the lowest Codex client version (`version` header) the backend serves this model to */
  readonly minimalClientVersion: string
  readonly verified: boolean
}

/** The Codex release whose catalog this table carries: the `version` we send unless a model needs more. */
export const CATALOG_CLIENT_VERSION = "0.144.0"

const OUTPUT = 128_000
const FOUR: ReadonlyArray<Effort> = ["low", "medium", "high", "xhigh"]
const TO_MAX: ReadonlyArray<Effort> = ["low", "medium", "high", "xhigh", "max"]
const TO_ULTRA: ReadonlyArray<Effort> = ["low", "medium", "high", "xhigh", "max", "ultra"]

interface Row {
  readonly contextWindow: number
  readonly efforts: ReadonlyArray<Effort>
  readonly defaultEffort: Effort
  readonly minimalClientVersion: string
  readonly responsesLite?: boolean
  readonly defaultVerbosity?: Verbosity
  readonly verified?: boolean
}

const row = (slug: string, name: string, r: Row): CatalogModel => ({
  slug,
  name,
  limit: { context: r.contextWindow + OUTPUT, input: r.contextWindow, output: OUTPUT },
  efforts: r.efforts,
  defaultEffort: r.defaultEffort,
  responsesLite: r.responsesLite ?? false,
  // every model in models.json @069e6b19 has `supports_parallel_tool_calls: true`
  parallelToolCalls: true,
  verbosity: { supported: true, default: r.defaultVerbosity ?? "low" },
  minimalClientVersion: r.minimalClientVersion,
  verified: r.verified ?? true,
})

const LITE = { contextWindow: 372_000, minimalClientVersion: "0.142.2", responsesLite: true } as const
const GPT5 = { contextWindow: 272_000, efforts: FOUR, defaultEffort: "medium" } as const
const unverified6 = {
  contextWindow: 272_000,
  defaultEffort: "medium",
  minimalClientVersion: "0.153.0",
  verified: false,
} as const

export const CATALOG: ReadonlyArray<CatalogModel> = [
  row("gpt-5.6-sol", "GPT-5.6 Sol", { ...LITE, efforts: TO_ULTRA, defaultEffort: "low" }),
  row("gpt-5.6-terra", "GPT-5.6 Terra", { ...LITE, efforts: TO_ULTRA, defaultEffort: "medium" }),
  row("gpt-5.6-luna", "GPT-5.6 Luna", { ...LITE, efforts: TO_MAX, defaultEffort: "medium" }),
  row("gpt-5.5", "GPT-5.5", { ...GPT5, minimalClientVersion: "0.124.0" }),
  // `max_context_window` 1M is an opt-in; Codex plans with `context_window`
  row("gpt-5.4", "GPT-5.4", { ...GPT5, minimalClientVersion: "0.98.0" }),
  row("gpt-5.4-mini", "GPT-5.4 mini", { ...GPT5, minimalClientVersion: "0.98.0", defaultVerbosity: "medium" }),
  row("gpt-5.2", "GPT-5.2", { ...GPT5, minimalClientVersion: "0.0.1" }),
  // In the live catalog of Codex 0.144, not in its bundled file: a small fast model, limits an estimate.
  row("gpt-5.3-codex-spark", "GPT-5.3 Codex Spark", {
    contextWindow: 100_000,
    efforts: FOUR,
    defaultEffort: "medium",
    minimalClientVersion: "0.98.0",
    verified: false,
  }),
  // The GPT-6 family from issue reports (min client 0.153.0 for gpt-6-astra; `ultra` logical only).
  row("gpt-6-sol", "GPT-6 Sol", { ...unverified6, efforts: TO_MAX }),
  row("gpt-6-luna", "GPT-6 Luna", { ...unverified6, efforts: TO_MAX }),
  row("gpt-6-astra", "GPT-6 Astra", { ...unverified6, efforts: TO_ULTRA }),
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

/** Compares dotted version numbers (`0.142.2` < `0.144.0`); missing parts count as 0. */
export const compareVersions = (a: string, b: string): number => {
  const x = a.split(".").map((part) => Number.parseInt(part, 10) || 0)
  const y = b.split(".").map((part) => Number.parseInt(part, 10) || 0)
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0)
    if (d !== 0) return Math.sign(d)
  }
  return 0
}

/**
 * The `version` header for `model`: the Codex release this catalog comes from, or the model's own minimum
 * when that is newer (the backend refuses a model to an older client).
 */
export const clientVersionFor = (model: string): string => CLIENT_VERSIONS.get(model) ?? CATALOG_CLIENT_VERSION

const CLIENT_VERSIONS: ReadonlyMap<string, string> = new Map(
  CATALOG.filter((m) => compareVersions(m.minimalClientVersion, CATALOG_CLIENT_VERSION) > 0).map((m) => [
    m.slug,
    m.minimalClientVersion,
  ]),
)

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
  // the usual case without building the list below (`wire` is never `ultra`)
  if (efforts.includes(wire)) return wire
  const supported = efforts.filter((e) => e !== "ultra")
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
    // what goes on the wire is the API id: a variant of a model we do not serve is not served either
    if (!isOAuthEligible(wireId(model))) continue
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
