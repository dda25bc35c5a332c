/**
 * Tells the sidebar that the store or the state file changed. `fs.watch` on the directory is quick but can
 * miss events (atomic renames, network filesystems, platforms without inotify), so a cheap periodic stat of
 * each file backs it up. Change notifications are coalesced: one callback per burst.
 */
import { type FSWatcher, statSync, watch } from "node:fs"
import { join } from "node:path"

export interface WatchOptions {
  /** the stat fallback's period; default 3000 ms */
  readonly intervalMs?: number
  /** set false to rely on the periodic stat alone (tests, platforms without fs.watch) */
  readonly useFsWatch?: boolean
  /** also called on every periodic tick (the sidebar's countdown clock) */
  readonly onTick?: () => void
}

const signature = (path: string): string => {
  try {
    const s = statSync(path)
    return `${s.size}:${s.mtimeMs}:${s.ino}`
  } catch {
    return "missing"
  }
}

/** Watches `names` inside `dir`; returns the function that stops watching. */
export const watchFiles = (
  dir: string,
  names: ReadonlyArray<string>,
  onChange: () => void,
  options?: WatchOptions,
): (() => void) => {
  const paths = names.map((n) => join(dir, n))
  const seen = new Map(paths.map((p) => [p, signature(p)]))
  let pending = false
  let stopped = false

  const fire = () => {
    if (pending || stopped) return
    pending = true
    queueMicrotask(() => {
      pending = false
      if (!stopped) onChange()
    })
  }

  /** true when any file's stat differs from the last one seen */
  const rescan = (): boolean => {
    let changed = false
    for (const p of paths) {
      const sig = signature(p)
      if (seen.get(p) !== sig) {
        seen.set(p, sig)
        changed = true
      }
    }
    return changed
  }

  let watcher: FSWatcher | undefined
  if (options?.useFsWatch !== false) {
    try {
      watcher = watch(dir, { persistent: false }, (_event, filename) => {
        // filename may be null on some platforms: then any event counts
        if (filename === null || names.includes(String(filename))) {
          if (rescan()) fire()
        }
      })
      watcher.on("error", () => {
        watcher?.close()
        watcher = undefined
      })
    } catch {
      watcher = undefined
    }
  }

  const timer = setInterval(() => {
    if (rescan()) fire()
    options?.onTick?.()
  }, options?.intervalMs ?? 3000)
  // never keep OpenCode alive just for a sidebar
  timer.unref?.()

  return () => {
    stopped = true
    clearInterval(timer)
    watcher?.close()
  }
}
