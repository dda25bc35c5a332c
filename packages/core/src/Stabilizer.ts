/**
 * The prompt-cache stabilizer ("Why web_search" in the README): when every tool in a request is a custom
 * `function` tool, the Codex backend intermittently drops the cached prefix on tool continuations. One
 * hosted `web_search` tool at the end of the list keeps those requests on the stable cache path; the model
 * does not call it on coding tasks.
 */

/** A fresh copy of the stabilizer tool (fresh so that nobody can mutate a shared instance). */
export const webSearchTool = (): Record<string, unknown> => ({
  type: "web_search",
  external_web_access: false,
  search_content_types: ["text", "image"],
})

const isFunctionTool = (tool: unknown): boolean =>
  typeof tool === "object" && tool !== null && (tool as { type?: unknown }).type === "function"

/**
 * Appends the stabilizer tool to `body.tools` in place when `enabled`, there is at least one tool, and all
 * tools are custom `function` tools. Idempotent: once appended (or when any native tool is present) the
 * list is not all-function anymore, so nothing more is added. Requests without tools (title turns) are left
 * alone. Returns whether it appended.
 */
export const stabilizeTools = (body: Record<string, unknown>, enabled: boolean): boolean => {
  if (!enabled) return false
  const tools = body.tools
  if (!Array.isArray(tools) || tools.length === 0) return false
  for (const tool of tools) if (!isFunctionTool(tool)) return false
  tools.push(webSearchTool())
  return true
}
