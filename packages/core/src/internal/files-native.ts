/**
 * The few disk operations `Files` makes straight through `node:fs` instead of the platform `FileSystem`, each
 * for a reason given where it is used: the per-request stat, the guarded rename of a fenced write, and the
 * process-liveness test that decides whether a leftover temp file's writer is gone; and, through `Files.layer`,
 * reading a file's text, so that reading the store does not load the platform file system (Files.ts).
 */
import { readFileSync, renameSync, statSync } from "node:fs"
import { readFile } from "node:fs/promises"
import { basename } from "node:path"

export interface NativeStat {
  readonly size: number
  readonly mtimeMs: number
  readonly ino: number
  readonly kind: "file" | "directory" | "other"
  readonly mode: number
}

/** undefined for ENOENT; other errors are thrown */
export const statNow = (path: string): NativeStat | undefined => {
  const info = statSync(path, { throwIfNoEntry: false })
  if (info === undefined) return undefined
  return {
    size: info.size,
    mtimeMs: Math.trunc(info.mtimeMs),
    ino: info.ino,
    kind: info.isFile() ? "file" : info.isDirectory() ? "directory" : "other",
    mode: info.mode & 0o777,
  }
}

/** the text of a file, or undefined when it does not exist; other errors are thrown */
export const readNow = (path: string): string | undefined => {
  try {
    return readFileSync(path, "utf8")
  } catch (error) {
    if ((error as { readonly code?: unknown }).code === "ENOENT") return undefined
    throw error
  }
}

/**
 * The text of a file, or undefined when it does not exist; other errors reject. Decoded as the platform
 * `FileSystem.readFileString` decodes (`TextDecoder`: a leading BOM dropped, invalid bytes replaced), which
 * `readFile(path, "utf8")` does not (it keeps the BOM, and a settings file saved with one must still parse).
 */
export const readText = async (path: string): Promise<string | undefined> => {
  try {
    return new TextDecoder().decode(await readFile(path))
  } catch (error) {
    if ((error as { readonly code?: unknown }).code === "ENOENT") return undefined
    throw error
  }
}

/**
 * Renames `temp` over `path` only if each file holds the expected text (undefined: absent) right now. One
 * synchronous step: nothing else of this process runs between the reads and the rename.
 */
export const renameIfNow = (
  temp: string,
  path: string,
  expected: ReadonlyArray<{ readonly path: string; readonly text: string | undefined }>,
): boolean => {
  for (const e of expected) if (readNow(e.path) !== e.text) return false
  renameSync(temp, path)
  return true
}

/** whether a process with this pid exists on this host (EPERM: it exists, it just is not ours) */
export const pidAlive = (pid: number): boolean => {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as { code?: string }).code === "EPERM"
  }
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/**
 * The temp files of `target` (`<name>.<pid>.<12 hex>.tmp`, see `tempPathFor`) among `names` whose writer is no
 * longer alive on this host: a process killed between writing its temp file and the rename left them.
 */
export const deadTemps = (target: string, names: ReadonlyArray<string>): Array<string> => {
  const pattern = new RegExp(`^${escapeRegExp(basename(target))}\\.(\\d+)\\.[0-9a-f]{12}\\.tmp$`)
  return names.filter((name) => {
    const pid = Number(pattern.exec(name)?.[1] ?? Number.NaN)
    return Number.isInteger(pid) && pid !== process.pid && !pidAlive(pid)
  })
}
