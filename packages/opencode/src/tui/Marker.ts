/**
 * The "a TUI is present in this process" marker (OpenCode 1.18.33, verified with the real binary). The TUI thread and the server
 * plugin's worker share `process.pid`, so the TUI writes `openai-auth-tui.<pid>` beside the store at start
 * and removes it on dispose; the server part checks `tuiPresent(storePath)` to decide whether it may print
 * to stdout (headless `opencode run`) or must stay quiet (the TUI owns the terminal).
 */
import { existsSync, mkdirSync, unlinkSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"

export const tuiMarkerPath = (storePath: string, pid: number = process.pid): string =>
  join(dirname(storePath), `openai-auth-tui.${pid}`)

/** Best effort: a marker that cannot be written only makes the server print to a terminal it shares. */
export const writeTuiMarker = (storePath: string, pid: number = process.pid): string | undefined => {
  const path = tuiMarkerPath(storePath, pid)
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
    writeFileSync(path, `${JSON.stringify({ pid, startedAt: Date.now() })}\n`, { mode: 0o600 })
    return path
  } catch {
    return undefined
  }
}

export const removeTuiMarker = (storePath: string, pid: number = process.pid): void => {
  try {
    unlinkSync(tuiMarkerPath(storePath, pid))
  } catch {
    // already gone
  }
}

export const tuiPresent = (storePath: string, pid: number = process.pid): boolean =>
  existsSync(tuiMarkerPath(storePath, pid))
