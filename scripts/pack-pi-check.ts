/**
 * `bun run pack:pi:dry`: builds the Pi package `@cortexkit/pi-openai-auth` (unless `--no-build`), runs `npm
 * pack --dry-run --json` in `packages/pi/dist/`, lists what the tarball would hold and exits 1 on anything
 * that should not be there or is missing. Beside the plugin's rules (no tests, sources, maps, secrets or
 * credential stores), a Pi package must be one that `pi install npm:…` takes: keyword `pi-package`, every
 * `pi.extensions` entry packed, no dependency (the libraries and `effect` are bundled), Pi's own packages as
 * peers, and no import of anything but a Node built-in or a Pi package it declares as a peer.
 */
import { resolve } from "node:path"
import { build, DEFAULT_OUTDIR } from "../packages/pi/scripts/build.ts"
import {
  BUILTINS,
  FORBIDDEN_PATHS,
  importedPackages,
  type PackRules,
  packageRoot,
  reportPack,
  SECRET_CONTENT,
} from "./pack-check.ts"

/** Everything the Pi tarball may hold. */
const ALLOWED = [/^package\.json$/, /^README\.md$/, /^LICENSE$/, /^index\.js$/, /^chunks\/[\w.-]+\.js$/]
const REQUIRED = ["package.json", "README.md", "LICENSE", "index.js"]
/** Pi hands an extension these (its extension loader); the rest of Pi's packages are its own business. */
export const PI_PEERS = ["@earendil-works/pi-ai", "@earendil-works/pi-coding-agent"] as const

const listed = (value: unknown): ReadonlyArray<string> =>
  Array.isArray(value) ? value.filter((v): v is string => typeof v === "string") : []

export const checkPiPack: PackRules = (report, manifest, read) => {
  const problems: Array<string> = []
  const paths = report.files.map((f) => f.path)
  for (const path of paths) {
    for (const [pattern, what] of FORBIDDEN_PATHS) if (pattern.test(path)) problems.push(`${path}: ${what}`)
    if (!ALLOWED.some((pattern) => pattern.test(path))) problems.push(`${path}: not a file the Pi package ships`)
  }
  for (const path of REQUIRED) if (!paths.includes(path)) problems.push(`${path}: missing`)
  const peers = (manifest.peerDependencies ?? {}) as Record<string, string>
  for (const path of paths.filter((p) => /\.(js|json|md)$/.test(p))) {
    const text = read(path)
    for (const [pattern, what] of SECRET_CONTENT) if (pattern.test(text)) problems.push(`${path}: contains a ${what}`)
    if (!path.endsWith(".js")) continue
    for (const specifier of importedPackages(text)) {
      // the raw socket over Bun.connect is imported only under Bun
      if (BUILTINS.has(specifier) || specifier === "bun") continue
      if (peers[packageRoot(specifier)] === undefined)
        problems.push(`${path}: imports ${specifier}, which is neither bundled nor a declared peer supplied by Pi`)
    }
  }
  if (manifest.private === true) problems.push("package.json: private")
  if (!listed(manifest.keywords).includes("pi-package")) problems.push('package.json: no keyword "pi-package"')
  const extensions = listed((manifest.pi as { extensions?: unknown } | undefined)?.extensions)
  if (extensions.length === 0) problems.push("package.json: no pi.extensions")
  for (const entry of extensions)
    if (!paths.includes(entry.replace(/^\.\//, ""))) problems.push(`package.json: pi.extensions ${entry} is not packed`)
  const main = ((manifest.exports ?? {}) as Record<string, string>)["."]
  if (main === undefined || !paths.includes(main.replace(/^\.\//, "")))
    problems.push('package.json: exports "." is missing or not packed')
  for (const key of ["dependencies", "devDependencies", "optionalDependencies", "scripts", "workspaces"])
    if (key in manifest) problems.push(`package.json: has ${key}`)
  for (const peer of PI_PEERS) if (peers[peer] === undefined) problems.push(`package.json: ${peer} is not a peer`)
  for (const [name, range] of Object.entries(peers))
    if (/^(workspace|catalog):/.test(range)) problems.push(`package.json: peer ${name} is ${range}`)
  if (((manifest.engines ?? {}) as Record<string, string>).node === undefined)
    problems.push("package.json: engines.node is not set")
  return problems
}

if (import.meta.main) {
  const at = process.argv.indexOf("--dir")
  const dir = at >= 0 && process.argv[at + 1] !== undefined ? resolve(process.argv[at + 1] as string) : DEFAULT_OUTDIR
  if (!process.argv.includes("--no-build")) await build(dir)
  if ((await reportPack(dir, checkPiPack)).length > 0) process.exit(1)
  console.log("\npack check: ok")
}
