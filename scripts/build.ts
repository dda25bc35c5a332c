/**
 * `bun run build`: builds the publishable `@cortexkit/opencode-openai-auth` into `packages/opencode/dist/`
 * (or `--outdir <dir>`), a self-contained package directory that `npm pack` / `npm publish` run in.
 *
 * - `server.js` (+ `chunks/`, target bun): the server entry, everything but the host's modules bundled in:
 *   core/transports/accounts and, tree-shaken, `effect` and `@effect/platform-node-shared`. The first
 *   request then loads ~0.3 MB of code instead of the whole `effect` package (docs/performance.md, start).
 * - `tui.js` (target bun): the TUI entry, Solid-compiled here. OpenCode's own Solid transform skips every
 *   path under `node_modules/`, which is where npm plugins live, so shipping `.tsx` would break the TUI
 *   of an installed package. `@opentui/*` and `solid-js` stay imports: the host rewrites them to its own
 *   instances (they must never be bundled, or the TUI would render into a second renderer).
 * - `cli.js` (+ `chunks/`, target node): the `openai-auth` bin, for Node 22+ and Bun; `--help` loads no chunk.
 * - `package.json`: generated from the workspace manifest (see docs/packaging.md): dist paths, engines, no
 *   dependencies (everything is bundled), no workspace packages, no scripts.
 * Whitespace and syntax are minified (faster to parse, less resident code); identifiers are kept so stack
 * traces still name functions. No source maps: maps would ship private sources.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { join, resolve } from "node:path"
import type { BunPlugin } from "bun"

export const ROOT = resolve(import.meta.dir, "..")
export const PLUGIN_PKG = join(ROOT, "packages", "opencode")
export const DEFAULT_OUTDIR = join(PLUGIN_PKG, "dist")

/**
 * Dependencies of the workspace package that the build bundles (tree-shaken; both are `sideEffects`-free):
 * the published package declares no runtime dependency at all.
 */
export const BUNDLED_DEPENDENCIES = ["effect", "@effect/platform-node-shared"] as const
/** Supplied by OpenCode at run time (OpenCode 1.18.33 resolves them to its own copies); type-only for `@opencode-ai/plugin`. */
export const HOST_MODULES = ["@opentui/core", "@opentui/solid", "@opentui/keymap", "solid-js", "@opencode-ai/plugin"]

const externals = HOST_MODULES.flatMap((name) => [name, `${name}/*`])

/** The fields of a workspace manifest the publish manifests are made from. */
export interface Manifest {
  readonly name: string
  readonly version: string
  readonly description?: string
  readonly license?: string
  readonly keywords?: ReadonlyArray<string>
  readonly repository?: unknown
  readonly engines?: Record<string, string>
  readonly dependencies?: Readonly<Record<string, string>>
}

const readJson = <A>(path: string): A => JSON.parse(readFileSync(path, "utf8")) as A

/** The published manifest: the entries' dist paths and no dependencies (`workspace:`/`catalog:` mean nothing to npm). */
export const publishManifest = (source: Manifest) => {
  return {
    name: source.name,
    version: source.version,
    ...(source.description === undefined ? {} : { description: source.description }),
    license: source.license ?? "MIT",
    ...(source.keywords === undefined ? {} : { keywords: source.keywords }),
    ...(source.repository === undefined ? {} : { repository: source.repository }),
    type: "module",
    exports: { "./server": "./server.js", "./tui": "./tui.js", "./package.json": "./package.json" },
    main: "./server.js",
    bin: { "openai-auth": "./cli.js" },
    files: ["server.js", "tui.js", "cli.js", "chunks/", "README.md", "LICENSE"],
    engines: source.engines ?? {},
  }
}

const solidPlugin = async (): Promise<BunPlugin> => {
  const path = Bun.resolveSync("@opentui/solid/bun-plugin", PLUGIN_PKG)
  const mod = (await import(path)) as { createSolidTransformPlugin: () => BunPlugin }
  return mod.createSolidTransformPlugin()
}

const check = (label: string, result: Bun.BuildOutput) => {
  if (!result.success) {
    for (const log of result.logs) console.error(log)
    throw new Error(`build of ${label} failed`)
  }
  return result.outputs.map((o) => o.path)
}

export interface BuildResult {
  readonly outdir: string
  readonly files: ReadonlyArray<string>
  readonly ms: number
}

export const build = async (outdir: string = DEFAULT_OUTDIR): Promise<BuildResult> => {
  const started = performance.now()
  rmSync(outdir, { recursive: true, force: true })
  mkdirSync(outdir, { recursive: true })
  const src = join(PLUGIN_PKG, "src")
  const common = {
    external: externals,
    format: "esm",
    sourcemap: "none",
    minify: { whitespace: true, syntax: true, identifiers: false },
    packages: "bundle",
  } as const
  const [server, tui, cli] = await Promise.all([
    // split: the server entry loads the Effect runtime with `import()` on first use, and only a separate chunk
    // keeps it out of OpenCode's start-up (an import in the same file is hoisted)
    Bun.build({
      ...common,
      entrypoints: [join(src, "server.ts")],
      outdir,
      target: "bun",
      splitting: true,
      naming: { entry: "[name].[ext]", chunk: "chunks/[name]-[hash].[ext]" },
    }),
    solidPlugin().then((plugin) =>
      Bun.build({
        ...common,
        entrypoints: [join(src, "tui.tsx")],
        outdir,
        target: "bun",
        plugins: [plugin],
        // the same reason as the server: the dialogs and sidebar load after the prompt is up
        splitting: true,
        naming: { entry: "[name].[ext]", chunk: "chunks/[name]-[hash].[ext]" },
      }),
    ),
    Bun.build({
      ...common,
      entrypoints: [join(src, "cli.ts")],
      outdir,
      target: "node",
      splitting: true,
      naming: { entry: "[name].[ext]", chunk: "chunks/[name]-[hash].[ext]" },
    }),
  ])
  const files = [...check("server", server), ...check("tui", tui), ...check("cli", cli)]
  const cliPath = join(outdir, "cli.js")
  const cliText = readFileSync(cliPath, "utf8")
  if (!cliText.startsWith("#!")) writeFileSync(cliPath, `#!/usr/bin/env node\n${cliText}`)
  chmodSync(cliPath, 0o755)
  const manifest = publishManifest(readJson<Manifest>(join(PLUGIN_PKG, "package.json")))
  writeFileSync(join(outdir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`)
  for (const name of ["README.md", "LICENSE"]) {
    const file = join(ROOT, name)
    if (existsSync(file)) copyFileSync(file, join(outdir, name))
  }
  return { outdir, files, ms: performance.now() - started }
}

if (import.meta.main) {
  const at = process.argv.indexOf("--outdir")
  const outdir = at >= 0 && process.argv[at + 1] !== undefined ? resolve(process.argv[at + 1] as string) : undefined
  const result = await build(outdir)
  console.log(`built ${result.files.length} files into ${result.outdir} in ${Math.round(result.ms)} ms`)
}
