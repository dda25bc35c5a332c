/**
 * The testable parts of the release: version validation and bumping (used by `scripts/release.sh`) and the
 * publish decision (used by `.github/workflows/release.yaml`).
 *
 *   bun scripts/release-tools.ts bump <version> [--dry]     rewrites "version" in every packages/<pkg>/package.json
 *   bun scripts/release-tools.ts should-publish <version>   reads `npm view <pkg> versions --json` on stdin;
 *                                                           prints "publish" or "skip", exits 2 on bad input
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs"
import { join, relative, resolve } from "node:path"

const ROOT = resolve(import.meta.dir, "..")
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/

export const isVersion = (version: string): boolean => SEMVER.test(version)

/** Every workspace package manifest; the root one has no version. */
export const packageManifests = (root: string = ROOT): ReadonlyArray<string> =>
  readdirSync(join(root, "packages"), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => join(root, "packages", entry.name, "package.json"))
    .filter((path) => {
      try {
        readFileSync(path)
        return true
      } catch {
        return false
      }
    })
    .sort()

/** Replaces the first top-level `"version"` value only, so the file's formatting stays as it was. */
export const setVersion = (text: string, version: string): string => {
  const current = (JSON.parse(text) as { version?: unknown }).version
  if (typeof current !== "string") throw new Error("package.json has no version")
  const next = text.replace(/^(\s*"version"\s*:\s*)"[^"]*"/m, `$1"${version}"`)
  if ((JSON.parse(next) as { version: string }).version !== version) throw new Error("version not replaced")
  return next
}

export interface Bump {
  readonly path: string
  readonly from: string
  readonly to: string
}

export const bumpVersions = (version: string, options: { root?: string; dry?: boolean } = {}): ReadonlyArray<Bump> => {
  if (!isVersion(version)) throw new Error(`not a semver version: ${version}`)
  const root = options.root ?? ROOT
  return packageManifests(root).map((path) => {
    const text = readFileSync(path, "utf8")
    const from = (JSON.parse(text) as { version: string }).version
    if (options.dry !== true) writeFileSync(path, setVersion(text, version))
    return { path: relative(root, path), from, to: version }
  })
}

/**
 * Whether to publish `version`, from what `npm view <pkg> versions --json` printed: a JSON array, a single
 * JSON string (npm prints one version unwrapped), or an E404 error object/empty output for a package that
 * does not exist yet. Anything else is an error: better to fail the job than to guess.
 */
export const publishDecision = (npmView: string, version: string): "publish" | "skip" => {
  const text = npmView.trim()
  if (text === "") return "publish"
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new Error(`cannot read npm view output: ${text.slice(0, 200)}`)
  }
  if (typeof parsed === "string") return parsed === version ? "skip" : "publish"
  if (Array.isArray(parsed) && parsed.every((v) => typeof v === "string"))
    return parsed.includes(version) ? "skip" : "publish"
  const error = (parsed as { error?: { code?: unknown } } | null)?.error
  if (error?.code === "E404") return "publish"
  throw new Error(`unexpected npm view output: ${text.slice(0, 200)}`)
}

if (import.meta.main) {
  const [command, version, ...rest] = process.argv.slice(2)
  try {
    if (version === undefined || !isVersion(version)) throw new Error(`usage: ${command ?? "<command>"} <version>`)
    if (command === "bump") {
      for (const bump of bumpVersions(version, { dry: rest.includes("--dry") }))
        console.log(`${bump.path}: ${bump.from} -> ${bump.to}`)
    } else if (command === "should-publish") {
      console.log(publishDecision(await new Response(Bun.stdin.stream()).text(), version))
    } else throw new Error("commands: bump <version> [--dry] | should-publish <version>")
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error))
    process.exit(2)
  }
}
