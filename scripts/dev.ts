/**
 * `bun run dev`: build the plugin, link the build into this checkout's `.opencode/` and rebuild on change.
 *
 * - `.opencode/plugins/cortexkit-openai-auth.js` -> `packages/opencode/dist/server.js` (OpenCode picks up
 *   `.opencode/plugins/*.js` by itself; the entry exports the `id` a path plugin needs).
 * - `.opencode/tui.json` listing `dist/tui.js`, written only when the file does not exist yet (TUI plugins
 *   have no directory discovery). `bun run dev:clean` removes both, and the tui.json only if it is ours.
 * - Watches `packages/{core,transports,accounts,opencode}/src` and rebuilds; `tsc --watch` type-checks
 *   alongside (`--no-typecheck` to skip). `--no-watch` builds and links once.
 * Restart OpenCode after starting this and after each rebuild: it loads plugins once, at start.
 */
import { existsSync, lstatSync, mkdirSync, readFileSync, symlinkSync, unlinkSync, watch, writeFileSync } from "node:fs"
import { join, relative } from "node:path"
import { build, DEFAULT_OUTDIR, ROOT } from "./build.ts"

export const LINK_NAME = "cortexkit-openai-auth.js"

export interface DevPaths {
  readonly root: string
  readonly dist: string
}

const defaults: DevPaths = { root: ROOT, dist: DEFAULT_OUTDIR }

export const devFiles = (paths: DevPaths = defaults) => ({
  link: join(paths.root, ".opencode", "plugins", LINK_NAME),
  tuiConfig: join(paths.root, ".opencode", "tui.json"),
})

/** The tui.json content `dev` writes; `dev:clean` removes a tui.json only when it is exactly this. */
export const devTuiConfig = (paths: DevPaths = defaults) =>
  `${JSON.stringify({ plugin: [relative(join(paths.root, ".opencode"), join(paths.dist, "tui.js"))] }, null, 2)}\n`

const isLink = (path: string) => {
  try {
    return lstatSync(path).isSymbolicLink()
  } catch {
    return false
  }
}

/** Links the build into `.opencode/`; returns what it did, one line each. */
export const linkDev = (paths: DevPaths = defaults): ReadonlyArray<string> => {
  const { link, tuiConfig } = devFiles(paths)
  const done: Array<string> = []
  mkdirSync(join(paths.root, ".opencode", "plugins"), { recursive: true })
  if (isLink(link)) unlinkSync(link)
  else if (existsSync(link)) throw new Error(`${link} exists and is not a symlink: move it away first`)
  symlinkSync(relative(join(paths.root, ".opencode", "plugins"), join(paths.dist, "server.js")), link)
  done.push(`linked ${relative(paths.root, link)} -> ${relative(paths.root, join(paths.dist, "server.js"))}`)
  if (!existsSync(tuiConfig)) {
    writeFileSync(tuiConfig, devTuiConfig(paths))
    done.push(`wrote ${relative(paths.root, tuiConfig)} (TUI entry)`)
  } else if (readFileSync(tuiConfig, "utf8") !== devTuiConfig(paths)) {
    done.push(`${relative(paths.root, tuiConfig)} exists and is yours: add "${join(paths.dist, "tui.js")}" to it`)
  }
  return done
}

if (import.meta.main) {
  const once = process.argv.includes("--no-watch")
  const first = await build()
  console.log(`built into ${relative(ROOT, first.outdir)} in ${Math.round(first.ms)} ms`)
  for (const line of linkDev()) console.log(line)
  if (!once) {
    const tsc = process.argv.includes("--no-typecheck")
      ? undefined
      : Bun.spawn(["bunx", "tsc", "--noEmit", "--watch", "--preserveWatchOutput", "-p", "tsconfig.json"], {
          cwd: ROOT,
          stdout: "inherit",
          stderr: "inherit",
        })
    let timer: ReturnType<typeof setTimeout> | undefined
    let building = Promise.resolve()
    const rebuild = () => {
      building = building.then(async () => {
        try {
          const result = await build()
          console.log(`rebuilt in ${Math.round(result.ms)} ms: restart OpenCode to load it`)
        } catch (error) {
          console.error(error instanceof Error ? error.message : error)
        }
      })
    }
    for (const pkg of ["core", "transports", "accounts", "opencode"])
      watch(join(ROOT, "packages", pkg, "src"), { recursive: true }, () => {
        clearTimeout(timer)
        timer = setTimeout(rebuild, 150)
      })
    console.log("watching packages/*/src (Ctrl-C to stop; bun run dev:clean removes the links)")
    process.on("SIGINT", () => {
      tsc?.kill()
      process.exit(0)
    })
  }
}
