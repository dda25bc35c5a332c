/**
 * `bun run pack:opencode:dry`: builds the package (unless `--no-build`), runs `npm pack --dry-run --json` in
 * the build directory, lists what the tarball would hold and exits 1 on anything that should not be there:
 * tests, fixtures, sources or source maps of private code, `.env`/keys/credential files, workspace
 * packages, install scripts, any dependency (everything is bundled), or a bundle importing something that
 * is neither a built-in nor supplied by the host.
 */
import { readFileSync } from "node:fs"
import { builtinModules } from "node:module"
import { join, posix, resolve } from "node:path"
import { BUNDLED_DEPENDENCIES, build, DEFAULT_OUTDIR, HOST_MODULES } from "./build.ts"

export interface PackFile {
  readonly path: string
  readonly size: number
}

export interface PackReport {
  readonly name: string
  readonly version: string
  readonly filename: string
  readonly size: number
  readonly unpackedSize: number
  readonly files: ReadonlyArray<PackFile>
}

export const FORBIDDEN_PATHS: ReadonlyArray<readonly [RegExp, string]> = [
  [/\.map$/, "source map"],
  [/(^|\/)(test|tests|__tests__|spec|e2e)\//, "test directory"],
  [/\.(test|spec|e2e)\.[cm]?[jt]sx?$/, "test file"],
  [/(^|\/)(fixtures?|__fixtures__|bench|\.bench|\.e2e|dumps?)\//, "fixture/bench/dump directory"],
  [/(^|\/)(src|packages|node_modules)\//, "sources or workspace packages"],
  [/(^|\/)[^/]+\.(ts|tsx|mts|cts)$/, "TypeScript source"],
  [/(^|\/)\.env(\..*)?$/, ".env file"],
  [/(^|\/)\.npmrc$/, ".npmrc"],
  [/\.(pem|key|p12|pfx|crt|der|jks|keystore|gpg|asc)$/, "key or certificate"],
  [/(^|\/)id_(rsa|dsa|ecdsa|ed25519)/, "ssh key"],
  [/(^|\/)(auth|openai-auth|openai-auth-state|credentials|secrets?)\.json$/, "credential store"],
  [/\.(tgz|log|sqlite|db)$/, "tarball, log or database"],
]

export const SECRET_CONTENT: ReadonlyArray<readonly [RegExp, string]> = [
  [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key"],
  [/\bsk-(proj-)?[A-Za-z0-9_-]{32,}/, "OpenAI API key"],
  [/\bnpm_[A-Za-z0-9]{36}\b/, "npm token"],
  [/\bgh[pousr]_[A-Za-z0-9]{36,}\b/, "GitHub token"],
  [/\beyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/, "JWT"],
  [/sourceMappingURL=/, "source map reference"],
]

const REQUIRED = ["package.json", "README.md", "server.js", "tui.js", "cli.js"]
export const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]))
const ALLOWED_IMPORT_ROOTS = new Set<string>(HOST_MODULES)
const SHOULD_BE_BUNDLED = new Set<string>(BUNDLED_DEPENDENCIES)

export const packageRoot = (specifier: string) => {
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier)
}

/**
 * Every import of an ESM bundle (static, re-export, side-effect and `import()`), read by Bun's own parser:
 * a regex would miss the minified forms (`import{a}from"x"`) or match text inside strings.
 */
export const scanImports = (code: string): ReadonlyArray<string> =>
  new Bun.Transpiler({ loader: "js" }).scanImports(code.replace(/^#!.*/, "")).map((i) => i.path)

/** Bare specifiers of static and dynamic imports in an ESM bundle. */
export const importedPackages = (code: string): ReadonlyArray<string> => [
  ...new Set(scanImports(code).filter((s) => !s.startsWith(".") && !s.startsWith("/"))),
]

/** Relative imports (`./chunks/x.js`) of a bundle, resolved against the importing file's folder. */
const importedFiles = (from: string, code: string): ReadonlyArray<string> =>
  scanImports(code)
    .filter((s) => s.startsWith("./") || s.startsWith("../"))
    .map((s) => posix.normalize(posix.join(posix.dirname(from), s)))

/** The TUI entry and every chunk it loads: the only files OpenCode's TUI host modules may be imported from. */
const tuiFiles = (paths: ReadonlyArray<string>, read: (path: string) => string): ReadonlySet<string> => {
  const seen = new Set<string>()
  const queue = paths.includes("tui.js") ? ["tui.js"] : []
  while (queue.length > 0) {
    const next = queue.pop() as string
    if (seen.has(next) || !paths.includes(next)) continue
    seen.add(next)
    queue.push(...importedFiles(next, read(next)))
  }
  return seen
}

/** What a tarball's rules look at: npm's report, the manifest, and a way to read a packed file. */
export type PackRules = (
  report: PackReport,
  manifest: Record<string, unknown>,
  read: (path: string) => string,
) => ReadonlyArray<string>

/** Every problem with a would-be tarball; empty means publishable. */
export const checkPack: PackRules = (report, manifest, read) => {
  const problems: Array<string> = []
  const paths = report.files.map((f) => f.path)
  for (const path of paths)
    for (const [pattern, what] of FORBIDDEN_PATHS) if (pattern.test(path)) problems.push(`${path}: ${what}`)
  for (const path of REQUIRED) if (!paths.includes(path)) problems.push(`${path}: missing`)
  const tui = tuiFiles(paths, read)
  for (const path of paths.filter((p) => /\.(m?js|json|md)$/.test(p))) {
    const text = read(path)
    for (const [pattern, what] of SECRET_CONTENT) if (pattern.test(text)) problems.push(`${path}: contains a ${what}`)
    if (!path.endsWith(".js")) continue
    for (const specifier of importedPackages(text)) {
      if (BUILTINS.has(specifier) || specifier === "bun") continue
      if (SHOULD_BE_BUNDLED.has(packageRoot(specifier)))
        problems.push(`${path}: imports ${specifier}, which the build must bundle (the package declares no dependency)`)
      else if (!ALLOWED_IMPORT_ROOTS.has(packageRoot(specifier)))
        problems.push(`${path}: imports ${specifier}, which is neither bundled nor supplied by OpenCode`)
      else if (!tui.has(path) && HOST_MODULES.includes(packageRoot(specifier)) && specifier !== "@opencode-ai/plugin")
        problems.push(`${path}: imports the host-only module ${specifier}`)
    }
  }
  if (manifest.private === true) problems.push("package.json: private")
  for (const key of ["devDependencies", "scripts", "workspaces", "peerDependencies", "optionalDependencies"])
    if (key in manifest) problems.push(`package.json: has ${key}`)
  // everything is bundled: a declared dependency would be installed (and possibly loaded) for nothing
  for (const name of Object.keys((manifest.dependencies ?? {}) as Record<string, string>))
    problems.push(`package.json: unexpected dependency ${name}`)
  const engines = (manifest.engines ?? {}) as Record<string, string>
  if (engines.opencode === undefined) problems.push("package.json: engines.opencode is not set")
  if (engines.node === undefined) problems.push("package.json: engines.node is not set")
  const exportsField = (manifest.exports ?? {}) as Record<string, string>
  const targets = [
    exportsField["./server"],
    exportsField["./tui"],
    ...Object.values((manifest.bin ?? {}) as Record<string, string>),
  ]
  for (const target of targets) {
    if (target === undefined) problems.push("package.json: exports ./server, ./tui and bin are required")
    else if (!paths.includes(target.replace(/^\.\//, "")))
      problems.push(`package.json: ${target} is not in the tarball`)
  }
  return problems
}

export const packDry = async (dir: string): Promise<PackReport> => {
  const proc = Bun.spawn(["npm", "pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: dir,
    stdout: "pipe",
    stderr: "pipe",
  })
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  if (code !== 0) throw new Error(`npm pack --dry-run failed (${code}): ${err.trim()}`)
  const [report] = JSON.parse(out) as Array<PackReport>
  if (report === undefined) throw new Error("npm pack --dry-run printed no report")
  return report
}

/** Packs `dir` dry, prints what the tarball would hold, and returns what `rules` find wrong with it. */
export const reportPack = async (dir: string, rules: PackRules): Promise<ReadonlyArray<string>> => {
  const report = await packDry(dir)
  const manifest = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as Record<string, unknown>
  console.log(`${report.filename}  (${report.files.length} files, ${report.size} B packed, ${report.unpackedSize} B)`)
  for (const file of report.files) console.log(`  ${String(file.size).padStart(8)}  ${file.path}`)
  const problems = rules(report, manifest, (path) => readFileSync(join(dir, path), "utf8"))
  if (problems.length > 0)
    console.error(`\n${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join("\n")}`)
  return problems
}

if (import.meta.main) {
  const at = process.argv.indexOf("--dir")
  const dir = at >= 0 && process.argv[at + 1] !== undefined ? resolve(process.argv[at + 1] as string) : DEFAULT_OUTDIR
  if (!process.argv.includes("--no-build")) await build(dir)
  if ((await reportPack(dir, checkPack)).length > 0) process.exit(1)
  console.log("\npack check: ok")
}
