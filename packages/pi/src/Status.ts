/**
 * The quota of the account in use, as one line of Pi's status bar (`ctx.ui.setStatus`): which account
 * answered, how much of its 5-hour and weekly windows is used, when each resets, and a warning when the
 * current pace runs out before the reset. Pure: built from the same model as OpenCode's sidebar.
 */
import type { SidebarModel } from "@cortexkit/openai-auth-accounts/QuotaView"

export const statusLine = (model: SidebarModel | undefined): string | undefined => {
  if (model === undefined) return undefined
  const windows = model.windows.map((w) => {
    const reset = w.countdown === "-" ? "" : ` ${w.countdown.replace(/^resets in /, "↻")}`
    return `${w.label} ${w.used}${reset}${w.warn ? " ⚠" : ""}`
  })
  const limit = model.limitReached ? " · limit reached" : ""
  return `ChatGPT ${model.name}: ${windows.join(" · ")}${limit}`
}
