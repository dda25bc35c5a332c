/**
 * The prompt-cache stabilizer ("Why web_search" in the README): when a request's tools hold no native
 * `web_search`, the Codex backend intermittently drops the cached prefix on tool continuations; other native
 * tools do not help (the seed README). One hosted `web_search` tool at the end of the list keeps those
 * requests on the stable cache path; the model does not call it on coding tasks.
 *
 * Not for Responses Lite models: Lite accepts only function, custom and client-executed tool-search tools
 * (a hosted tool is a 400), so their requests go without it.
 */

/** A fresh copy of the stabilizer tool (fresh so that nobody can mutate a shared instance). */
export const webSearchTool = (): Record<string, unknown> => ({
  type: "web_search",
  external_web_access: false,
  search_content_types: ["text", "image"],
})

const isWebSearch = (tool: unknown): boolean => {
  const type = typeof tool === "object" && tool !== null ? (tool as { type?: unknown }).type : undefined
  return type === "web_search" || type === "web_search_preview"
}

/** Whether `tools` need the stabilizer: `enabled`, at least one tool, and no native web search among them. */
export const needsStabilizer = (tools: ReadonlyArray<unknown>, enabled: boolean): boolean => {
  if (!enabled || tools.length === 0) return false
  for (let i = 0; i < tools.length; i++) if (isWebSearch(tools[i])) return false
  return true
}

/**
 * `tools` with the stabilizer appended when `enabled`, there is at least one tool and none of them is a
 * native web search; otherwise `tools` itself. Never changes its argument. Idempotent: once appended, the
 * list holds a web search. Requests without tools (title turns) are left alone.
 */
export const withStabilizer = (tools: ReadonlyArray<unknown>, enabled: boolean): ReadonlyArray<unknown> => {
  if (!needsStabilizer(tools, enabled)) return tools
  const out = tools.slice()
  out.push(webSearchTool())
  return out
}
