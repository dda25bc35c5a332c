/**
 * The rewrite's rules for the top-level fields of a Codex request body (docs/protocol.md §3.2, §3.3, §7).
 * Each returns a new value; the host's body is never changed.
 */
import { type CatalogModel, clampEffort } from "../Models.ts"
import { needsStabilizer, webSearchTool } from "../Stabilizer.ts"

type Json = Record<string, unknown>

const isObject = (value: unknown): value is Json => typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * Body fields the rewrite never sends: the backend answers 400 "Unsupported parameter" to the sampling and
 * token-cap fields (docs/protocol.md §3.3), and the rest make no sense without stored responses
 * (`previous_response_id` is the WebSocket transport's own business; `background` needs `store: true`).
 */
export const UNSUPPORTED_FIELDS: ReadonlyArray<string> = [
  "max_output_tokens",
  "max_completion_tokens",
  "max_tokens",
  "temperature",
  "top_p",
  "presence_penalty",
  "frequency_penalty",
  "seed",
  "metadata",
  "top_logprobs",
  "truncation",
  "user",
  "previous_response_id",
  "background",
]

const VALID_SERVICE_TIERS = new Set(["priority"])
const ENCRYPTED_REASONING = "reasoning.encrypted_content"

/** Tool types Responses Lite accepts (its 400 names function, custom and client-executed tool search). */
const LITE_TOOL_TYPES = new Set(["function", "custom", "tool_search", "namespace"])

/** Codex's function-tool shape: `strict: false`, no JSON-Schema `$schema` dialect marker. */
const codexTool = (tool: unknown): unknown => {
  if (!isObject(tool) || tool.type !== "function") return tool
  const parameters = tool.parameters
  const schema = isObject(parameters) && "$schema" in parameters
  if (tool.strict === false && !schema) return tool
  // clones by spread (the one form JSC copies natively; a `{ $schema, ...rest }` pattern or a loop of
  // assignments cost twice as much, and a copy built key by key also writes slower): the copy keeps the
  // host's key order, a key that exists keeps its place, and a `__proto__` key stays a key
  const out: Json = { ...tool }
  out.strict = false
  if (schema) {
    const rest: Json = { ...(parameters as Json) }
    delete rest.$schema
    out.parameters = rest
  }
  return out
}

/** The tools to send: Codex-shaped, the stabilizer appended (not for Lite, which keeps only the kinds it takes). */
export const wireTools = (tools: ReadonlyArray<unknown>, webSearch: boolean, lite: boolean): ReadonlyArray<unknown> => {
  const shaped = tools.map(codexTool)
  if (!lite) {
    // appended to the array just made, not copied again
    if (needsStabilizer(shaped, webSearch)) shaped.push(webSearchTool())
    return shaped
  }
  return shaped.filter(
    (tool) =>
      isObject(tool) &&
      typeof tool.type === "string" &&
      LITE_TOOL_TYPES.has(tool.type) &&
      !(tool.type === "tool_search" && tool.execution === "server"),
  )
}

/**
 * `reasoning` for the wire: the effort clamped to what the model takes (`ultra` goes as `max`), a `none`
 * summary left out (it is not a wire value), and `context: "all_turns"` for Lite models.
 */
export const wireReasoning = (reasoning: unknown, model: string, lite: boolean): Json | undefined => {
  if (!isObject(reasoning)) return lite ? { context: "all_turns" } : undefined
  const out: Json = { ...reasoning }
  if (typeof out.effort === "string") out.effort = clampEffort(model, out.effort)
  if (out.summary === "none") delete out.summary
  if (lite) out.context = "all_turns"
  return out
}

/** `text` for the wire: `verbosity` only for models that take it (codex-rs `support_verbosity`). */
export const wireText = (text: unknown, entry: CatalogModel | undefined): unknown => {
  if (!isObject(text) || !("verbosity" in text) || entry === undefined || entry.verbosity.supported) return text
  const { verbosity: _, ...rest } = text
  return Object.keys(rest).length === 0 ? undefined : rest
}

export const wireInclude = (include: unknown): ReadonlyArray<unknown> => {
  if (!Array.isArray(include)) return [ENCRYPTED_REASONING]
  return include.includes(ENCRYPTED_REASONING) ? include : [...include, ENCRYPTED_REASONING]
}

export const wireServiceTier = (tier: unknown): unknown =>
  typeof tier === "string" && VALID_SERVICE_TIERS.has(tier) ? tier : undefined

/**
 * The two items a Lite request starts with: its tools as an `additional_tools` developer item, and its
 * instructions as a developer message (Lite carries neither at the top level; codex-rs, cortexkit).
 */
export const liteHead = (tools: ReadonlyArray<unknown>, instructions: string): Array<Json> => {
  const head: Array<Json> = [{ type: "additional_tools", role: "developer", tools }]
  if (instructions.length > 0) {
    head.push({ type: "message", role: "developer", content: [{ type: "input_text", text: instructions }] })
  }
  return head
}
