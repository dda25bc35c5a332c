/**
 * `bun run dev:clean`: undo `bun run dev`: remove the `.opencode/plugins/` link and the `.opencode/tui.json`
 * that `dev` wrote (left alone when someone edited it). The build in `packages/opencode/dist/` stays.
 */
import { existsSync, lstatSync, readdirSync, readFileSync, rmdirSync, unlinkSync } from "node:fs"
import { dirname, relative } from "node:path"
import { ROOT } from "./build.ts"
import { type DevPaths, devFiles, devTuiConfig } from "./dev.ts"

export const cleanDev = (paths?: DevPaths): ReadonlyArray<string> => {
  const { link, tuiConfig } = devFiles(paths)
  const root = paths?.root ?? ROOT
  const done: Array<string> = []
  let linked = false
  try {
    linked = lstatSync(link).isSymbolicLink()
  } catch {}
  if (linked) {
    unlinkSync(link)
    done.push(`removed ${relative(root, link)}`)
  }
  if (existsSync(tuiConfig)) {
    if (readFileSync(tuiConfig, "utf8") === devTuiConfig(paths)) {
      unlinkSync(tuiConfig)
      done.push(`removed ${relative(root, tuiConfig)}`)
    } else done.push(`kept ${relative(root, tuiConfig)} (edited since dev wrote it)`)
  }
  // the directories dev created, when nothing else lives in them
  for (const dir of [dirname(link), dirname(tuiConfig)])
    if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir)
  return done
}

if (import.meta.main) {
  const done = cleanDev()
  console.log(done.length === 0 ? "nothing to clean" : done.join("\n"))
}
