/**
 * `bun run pack:libs:dry`: builds the published libraries (unless `--no-build`), runs `npm pack --dry-run
 * --json` in each `packages/<lib>/dist/`, lists what each tarball would hold and exits 1 on anything that
 * should not be there or is missing: tests, fixtures, benches, JavaScript source maps, secrets, credential
 * stores, files outside the allow-list; a `workspace:`/`catalog:` specifier or an undeclared import; a
 * relative import or declaration-map source that points at nothing; an `exports` target that is not packed.
 */
import { posix } from "node:path"
import { buildLibraries, LIBRARIES, libraryOutdir } from "./build-libs.ts"
import {
  BUILTINS,
  FORBIDDEN_PATHS,
  importedPackages,
  type PackRules,
  packageRoot,
  reportPack,
  SECRET_CONTENT,
  scanImports,
} from "./pack-check.ts"

/** The plugin's rules that do not hold for a library, which ships its sources (`src/`) for the declaration maps. */
const PLUGIN_ONLY = new Set(["sources or workspace packages", "TypeScript source", "source map"])

const LIBRARY_PATHS: ReadonlyArray<readonly [RegExp, string]> = [
  ...FORBIDDEN_PATHS.filter(([, what]) => !PLUGIN_ONLY.has(what)),
  [/(^|\/)node_modules\//, "node_modules"],
  [/\.(js|mjs|cjs)\.map$/, "JavaScript source map"],
]

/** Everything a library tarball may hold. */
const ALLOWED = [/^package\.json$/, /^README\.md$/, /^LICENSE$/, /^lib\/.+\.(js|d\.ts|d\.ts\.map)$/, /^src\/.+\.ts$/]

const REQUIRED = ["package.json", "README.md", "LICENSE", "lib/index.js", "lib/index.d.ts"]

/** Relative specifiers of a declaration file (type imports and `import("./x")` types included). */
const declarationImports = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(/(?:from\s+|import\s*\(\s*)"(\.{1,2}\/[^"]+)"/g)].map((m) => m[1] as string)

/** `./X.ts` or `./X.js` from `lib/Y.d.ts`: the declaration a type checker lands on. */
const declarationTarget = (from: string, specifier: string) =>
  posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.(ts|js)$/, ".d.ts")

const isSpecifierField = (spec: unknown) => typeof spec === "string" && /^(workspace|catalog):/.test(spec)

const checkManifest = (manifest: Record<string, unknown>, paths: ReadonlyArray<string>): Array<string> => {
  const problems: Array<string> = []
  if (manifest.private === true) problems.push("package.json: private")
  for (const key of ["devDependencies", "scripts", "workspaces"])
    if (key in manifest) problems.push(`package.json: has ${key}`)
  for (const key of ["description", "license"])
    if (typeof manifest[key] !== "string" || manifest[key] === "") problems.push(`package.json: no ${key}`)
  if ((manifest.engines as Record<string, string> | undefined)?.node === undefined)
    problems.push("package.json: engines.node is not set")
  if (!Array.isArray(manifest.files)) problems.push("package.json: no files allow-list")
  const peers = (manifest.peerDependencies ?? {}) as Record<string, string>
  if (peers.effect === undefined) problems.push("package.json: effect is not a peer dependency")
  const deps = (manifest.dependencies ?? {}) as Record<string, string>
  if ("effect" in deps) problems.push("package.json: effect is a dependency, not a peer")
  for (const [field, record] of Object.entries({ dependencies: deps, peerDependencies: peers })) {
    for (const [name, spec] of Object.entries(record)) {
      if (isSpecifierField(spec)) problems.push(`package.json: ${field}.${name} is still ${spec}`)
      if (name.startsWith("@cortexkit/") && spec !== manifest.version)
        problems.push(`package.json: ${name}@${spec} is not this release's exact version ${String(manifest.version)}`)
    }
  }
  const exportsField = (manifest.exports ?? {}) as Record<string, { types?: string; import?: string } | null>
  for (const [entry, target] of Object.entries(exportsField)) {
    if (target === null || typeof target === "string") continue
    if (target.types === undefined || target.import === undefined) {
      problems.push(`package.json: exports["${entry}"] needs types and import conditions`)
      continue
    }
    for (const file of [target.types, target.import]) {
      const probe = file.replace(/^\.\//, "").replace("*", "index")
      if (!paths.includes(probe)) problems.push(`package.json: exports["${entry}"] -> ${file} is not in the tarball`)
    }
  }
  if (exportsField["."] === undefined) problems.push('package.json: exports["."] is missing')
  return problems
}

/** Every problem with one library's would-be tarball; empty means publishable. */
export const checkLibraryPack: PackRules = (report, manifest, read) => {
  const problems: Array<string> = []
  const paths = report.files.map((f) => f.path)
  for (const path of paths) {
    for (const [pattern, what] of LIBRARY_PATHS) if (pattern.test(path)) problems.push(`${path}: ${what}`)
    if (!ALLOWED.some((pattern) => pattern.test(path))) problems.push(`${path}: not in the allow-list`)
  }
  for (const path of REQUIRED) if (!paths.includes(path)) problems.push(`${path}: missing`)
  const declared = new Set([
    ...Object.keys((manifest.dependencies ?? {}) as object),
    ...Object.keys((manifest.peerDependencies ?? {}) as object),
  ])
  for (const path of paths.filter((p) => /\.(js|ts|json|md|map)$/.test(p) && !p.startsWith("src/"))) {
    const text = read(path)
    for (const [pattern, what] of SECRET_CONTENT) {
      // a declaration names its map (`//# sourceMappingURL=X.d.ts.map`); JavaScript ships without maps
      if (what === "source map reference" && path.endsWith(".d.ts")) continue
      if (pattern.test(text)) problems.push(`${path}: contains a ${what}`)
    }
    if (path.endsWith(".js")) {
      if (!paths.includes(path.replace(/\.js$/, ".d.ts"))) problems.push(`${path}: has no declaration`)
      for (const specifier of importedPackages(text)) {
        if (!BUILTINS.has(specifier) && !declared.has(packageRoot(specifier)))
          problems.push(`${path}: imports ${specifier}, which the package does not declare`)
      }
      for (const specifier of scanImports(text).filter((s) => s.startsWith("."))) {
        const target = posix.normalize(posix.join(posix.dirname(path), specifier))
        if (!paths.includes(target)) problems.push(`${path}: imports ${specifier}, which is not in the tarball`)
      }
    }
    if (path.endsWith(".d.ts")) {
      for (const specifier of declarationImports(text)) {
        if (!paths.includes(declarationTarget(path, specifier)))
          problems.push(`${path}: imports ${specifier}, which has no declaration in the tarball`)
      }
    }
    if (path.endsWith(".d.ts.map")) {
      for (const source of (JSON.parse(text) as { sources: Array<string> }).sources) {
        const target = posix.normalize(posix.join(posix.dirname(path), source))
        if (!paths.includes(target)) problems.push(`${path}: its source ${source} is not in the tarball`)
      }
    }
  }
  return [...problems, ...checkManifest(manifest, paths)]
}

if (import.meta.main) {
  if (!process.argv.includes("--no-build")) buildLibraries()
  let failed = 0
  for (const lib of LIBRARIES) failed += (await reportPack(libraryOutdir(lib), checkLibraryPack)).length
  if (failed > 0) process.exit(1)
  console.log("\npack check (libraries): ok")
}
