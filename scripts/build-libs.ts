/**
 * `bun run build:libs`: builds the published libraries `@cortexkit/openai-auth-core`, `-transports` and
 * `-accounts` (in that order: each one's declarations are the next one's types) into `packages/<pkg>/dist/`,
 * a complete package directory that `npm pack` / `npm publish` run in (docs/packaging.md):
 *
 * - `lib/`: ESM JavaScript and `.d.ts` with declaration maps, one file per module (so a host loads only what
 *   it imports, and the lazily imported modules stay lazy), emitted by `tsc` from the sources with
 *   `rewriteRelativeImportExtensions`.
 * - `src/`: the sources the declaration maps point at ("go to definition" lands in TypeScript, not in .d.ts).
 * - `package.json`: generated from the workspace manifest: `exports` with `types` and `import` conditions,
 *   a `files` allow-list, the sibling libraries at this exact version in place of `workspace:*`, and
 *   `effect` (core: also `@effect/platform-node-shared`) as a peer dependency in place of `catalog:`.
 * - `README.md` (the package's own) and `LICENSE`.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import type { Manifest } from "./build.ts"

export const ROOT = resolve(import.meta.dir, "..")

/** Dependency order: each library may import only those before it. */
export const LIBRARIES = ["core", "transports", "accounts"] as const
export type Library = (typeof LIBRARIES)[number]

export const libraryDir = (lib: Library, root: string = ROOT) => join(root, "packages", lib)

/**
 * Where a library's package directory is built: `packages/<lib>/dist` of `root`. It stays inside the package
 * folder, where its declarations find `effect` (the workspace installs it per package) for the next library.
 */
export interface BuildTarget {
  readonly root?: string
}
export const libraryOutdir = (lib: Library, target: BuildTarget = {}) => join(libraryDir(lib, target.root), "dist")

/**
 * The `effect` versions a host may bring: the minor the libraries are built and tested with (the catalog's
 * exact version), any later patch. Effect's `@stability unstable` modules (http, platform) may change in a
 * minor release, so the next minor is a new release of ours, not an open range (docs/hosts.md).
 */
export const effectPeerRange = (catalogVersion: string): string => {
  const [major, minor] = catalogVersion.split(".")
  return `>=${catalogVersion} <${major}.${Number(minor) + 1}.0`
}

const readJson = <A>(path: string): A => JSON.parse(readFileSync(path, "utf8")) as A

const catalog = (root: string): Readonly<Record<string, string>> =>
  readJson<{ workspaces: { catalog: Record<string, string> } }>(join(root, "package.json")).workspaces.catalog

/**
 * The published manifest. `workspace:*` becomes the sibling's exact version (the libraries are released
 * together), `catalog:` packages become peers with the range above; nothing else is allowed through.
 */
export const libraryManifest = (
  source: Manifest,
  versions: {
    readonly catalog: Readonly<Record<string, string>>
    readonly workspace: Readonly<Record<string, string>>
  },
) => {
  const dependencies: Record<string, string> = {}
  const peerDependencies: Record<string, string> = {}
  for (const [name, spec] of Object.entries(source.dependencies ?? {})) {
    if (spec.startsWith("workspace:")) {
      const version = versions.workspace[name]
      if (version === undefined) throw new Error(`${source.name}: ${name} is not a workspace package`)
      dependencies[name] = version
    } else if (spec === "catalog:") {
      const version = versions.catalog[name]
      if (version === undefined) throw new Error(`${source.name}: ${name} is not in the catalog`)
      peerDependencies[name] = effectPeerRange(version)
    } else throw new Error(`${source.name}: dependency ${name}@${spec} is neither workspace: nor catalog:`)
  }
  return {
    name: source.name,
    version: source.version,
    description: source.description ?? "",
    license: source.license ?? "MIT",
    ...(source.keywords === undefined ? {} : { keywords: source.keywords }),
    ...(source.repository === undefined ? {} : { repository: source.repository }),
    type: "module",
    sideEffects: false,
    exports: {
      ".": { types: "./lib/index.d.ts", import: "./lib/index.js" },
      "./internal/*": null,
      "./*": { types: "./lib/*.d.ts", import: "./lib/*.js" },
      "./package.json": "./package.json",
    },
    files: ["lib/", "src/", "README.md", "LICENSE"],
    engines: { node: ">=22.19" },
    ...(Object.keys(dependencies).length === 0 ? {} : { dependencies }),
    peerDependencies,
  }
}

const walk = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })

/** The tsc project for one library: its sources, the built declarations of the libraries before it. */
const tsconfigFor = (lib: Library, target: BuildTarget) => {
  const root = target.root ?? ROOT
  const paths: Record<string, Array<string>> = {}
  for (const dep of LIBRARIES.slice(0, LIBRARIES.indexOf(lib))) {
    const lib = join(libraryOutdir(dep, target), "lib")
    paths[`@cortexkit/openai-auth-${dep}`] = [join(lib, "index.d.ts")]
    paths[`@cortexkit/openai-auth-${dep}/*`] = [join(lib, "*.d.ts")]
  }
  const dir = libraryDir(lib, root)
  return {
    extends: join(root, "tsconfig.base.json"),
    compilerOptions: {
      noEmit: false,
      declaration: true,
      declarationMap: true,
      rewriteRelativeImportExtensions: true,
      rootDir: join(dir, "src"),
      outDir: join(libraryOutdir(lib, target), "lib"),
      typeRoots: [join(root, "node_modules", "@types")],
      types: ["bun", "node"],
      paths,
    },
    include: [join(dir, "src/**/*")],
  }
}

/** Declaration maps name `../../src/X.ts` (the workspace); in the package the sources sit at `src/`. */
const relocateMaps = (outdir: string, srcDir: string) => {
  for (const map of walk(join(outdir, "lib")).filter((p) => p.endsWith(".d.ts.map"))) {
    const json = readJson<{ sources: Array<string> }>(map)
    json.sources = json.sources.map((source) => {
      const inSources = relative(srcDir, resolve(dirname(map), source))
      return relative(dirname(map), join(outdir, "src", inSources))
    })
    writeFileSync(map, JSON.stringify(json))
  }
}

const tsc = (cwd: string, project: string) => {
  const proc = Bun.spawnSync(["bun", join(ROOT, "node_modules/typescript/bin/tsc"), "-p", project], {
    cwd,
    stdout: "pipe",
    stderr: "pipe",
  })
  if (proc.exitCode !== 0) throw new Error(`tsc failed in ${cwd}:\n${proc.stdout.toString()}${proc.stderr.toString()}`)
}

export interface LibraryBuild {
  readonly lib: Library
  readonly outdir: string
  readonly files: number
}

export const buildLibrary = (lib: Library, target: BuildTarget = {}): LibraryBuild => {
  const root = target.root ?? ROOT
  const dir = libraryDir(lib, root)
  const outdir = libraryOutdir(lib, target)
  rmSync(outdir, { recursive: true, force: true })
  mkdirSync(outdir, { recursive: true })
  // the project file is written for the build only, beside the output (never packed)
  const project = join(outdir, "tsconfig.build.json")
  writeFileSync(project, JSON.stringify(tsconfigFor(lib, target)))
  tsc(dir, project)
  rmSync(project)
  cpSync(join(dir, "src"), join(outdir, "src"), { recursive: true })
  relocateMaps(outdir, join(dir, "src"))
  const workspace = Object.fromEntries(
    LIBRARIES.map((l) => {
      const m = readJson<Manifest>(join(libraryDir(l, root), "package.json"))
      return [m.name, m.version]
    }),
  )
  const manifest = libraryManifest(readJson<Manifest>(join(dir, "package.json")), {
    catalog: catalog(root),
    workspace,
  })
  writeFileSync(join(outdir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`)
  for (const [from, name] of [
    [join(dir, "README.md"), "README.md"],
    [join(root, "LICENSE"), "LICENSE"],
  ] as const) {
    if (existsSync(from)) cpSync(from, join(outdir, name))
  }
  return { lib, outdir, files: walk(outdir).length }
}

export const buildLibraries = (target: BuildTarget = {}): ReadonlyArray<LibraryBuild> =>
  LIBRARIES.map((lib) => buildLibrary(lib, target))

if (import.meta.main) {
  const started = performance.now()
  for (const built of buildLibraries()) console.log(`built ${built.lib}: ${built.files} files in ${built.outdir}`)
  console.log(`libraries built in ${Math.round(performance.now() - started)} ms`)
}
