/**
 * `bun run build` in packages/pi: the Pi package `@cortexkit/pi-openai-auth` in `packages/pi/dist/` (or
 * `--outdir <dir>`), a self-contained directory that `npm pack`/`npm publish` and `pi install <dir>` take.
 *
 * - `index.js` (+ `chunks/`, target node, ESM): the extension Pi loads. The libraries, `effect` and
 *   `proper-lockfile` are bundled in; the libraries' runtime is a chunk loaded on first use, so Pi's
 *   start-up only parses the registration. Pi's own packages stay imports: Pi hands every extension its
 *   copies of them (extension loader aliases), so they are peer dependencies and never bundled.
 * - `package.json`: generated from the workspace manifest: keyword `pi-package`, `pi.extensions`, the peers,
 *   no dependencies (everything else is bundled), no scripts.
 * Whitespace and syntax are minified, identifiers kept (readable stack traces); no source maps.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"

export const PACKAGE_DIR = resolve(import.meta.dir, "..")
export const DEFAULT_OUTDIR = join(PACKAGE_DIR, "dist")
const ROOT = resolve(PACKAGE_DIR, "..", "..")

/** Supplied by Pi at run time; the legacy scope is still mapped to the same modules (docs/pi.md). */
export const HOST_MODULES = ["@earendil-works/*", "@mariozechner/*", "typebox", "typebox/*"]

/** Fields copied as they are from the workspace manifest when present. */
const COPIED = ["description", "keywords", "repository", "peerDependencies", "engines"] as const

export const publishManifest = (source: Readonly<Record<string, unknown>>) => ({
  name: source.name,
  version: source.version,
  license: source.license ?? "MIT",
  ...Object.fromEntries(COPIED.flatMap((key) => (source[key] === undefined ? [] : [[key, source[key]]]))),
  type: "module",
  main: "./index.js",
  exports: { ".": "./index.js", "./package.json": "./package.json" },
  pi: { extensions: ["./index.js"] },
  files: ["index.js", "chunks/", "README.md", "LICENSE"],
})

export const build = async (outdir: string = DEFAULT_OUTDIR) => {
  const started = performance.now()
  rmSync(outdir, { recursive: true, force: true })
  mkdirSync(outdir, { recursive: true })
  const result = await Bun.build({
    entrypoints: [join(PACKAGE_DIR, "src", "index.ts")],
    outdir,
    target: "node",
    format: "esm",
    splitting: true,
    external: HOST_MODULES,
    packages: "bundle",
    sourcemap: "none",
    minify: { whitespace: true, syntax: true, identifiers: false },
    naming: { entry: "[name].[ext]", chunk: "chunks/[name]-[hash].[ext]" },
  })
  if (!result.success) {
    for (const log of result.logs) console.error(log)
    throw new Error("build of the Pi extension failed")
  }
  const manifest = publishManifest(JSON.parse(readFileSync(join(PACKAGE_DIR, "package.json"), "utf8")))
  writeFileSync(join(outdir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`)
  for (const [from, name] of [
    [join(PACKAGE_DIR, "README.md"), "README.md"],
    [join(ROOT, "LICENSE"), "LICENSE"],
  ] as const) {
    if (existsSync(from)) copyFileSync(from, join(outdir, name))
  }
  return { outdir, files: result.outputs.map((o) => o.path), ms: performance.now() - started }
}

if (import.meta.main) {
  const at = process.argv.indexOf("--outdir")
  const outdir = at >= 0 && process.argv[at + 1] !== undefined ? resolve(process.argv[at + 1] as string) : undefined
  const built = await build(outdir)
  console.log(`built ${built.files.length} files into ${built.outdir} in ${Math.round(built.ms)} ms`)
}
