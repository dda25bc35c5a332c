/**
 * The README's checkout commands, run as a newcomer runs them: `bun run openai-auth -- …` and
 * `bun run opencode -- …` from the root (neither is on the PATH after `bun install`), and the install from a
 * checkout, which must write the user's OpenCode config (the two files the README names) and leave the
 * checkout as it was.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

const ROOT = join(import.meta.dir, "..", "..", "..", "..")
const PLUGIN = join(ROOT, "packages", "opencode")

const run = async (argv: ReadonlyArray<string>, env: Record<string, string | undefined> = process.env) => {
  const proc = Bun.spawn([...argv], { cwd: ROOT, env, stdin: "ignore", stdout: "pipe", stderr: "pipe" })
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { stdout, stderr, code }
}

const gitStatus = async () => (await run(["git", "status", "--porcelain", "--ignored=no"])).stdout

describe("the README's commands from a checkout", () => {
  test("bun run openai-auth -- <args> and bun run opencode -- <args> run the two tools", async () => {
    const version = JSON.parse(readFileSync(join(PLUGIN, "package.json"), "utf8")).version as string
    const cli = await run(["bun", "run", "openai-auth", "--", "--version"])
    expect({ out: cli.stdout, code: cli.code }).toEqual({ out: `openai-auth ${version}\n`, code: 0 })
    const help = await run(["bun", "run", "openai-auth", "--", "--help"])
    for (const verb of [
      "login",
      "list",
      "remove",
      "switch",
      "order",
      "quota",
      "routing",
      "killswitch",
      "cachekeep",
      "logging",
      "dump",
    ]) {
      expect(help.stdout).toContain(`openai-auth ${verb}`)
    }
    const opencode = await run(["bun", "run", "opencode", "--", "--version"])
    expect({ out: opencode.stdout.trim(), code: opencode.code }).toEqual({ out: "1.18.33", code: 0 })
  }, 60_000)

  test("the install from a checkout writes the user's config (opencode.jsonc, tui.json) and leaves the checkout clean", async () => {
    const box = mkdtempSync(join(tmpdir(), "oa-readme-"))
    try {
      const dirs = Object.fromEntries(["home", "config", "data", "cache", "state"].map((d) => [d, join(box, d)]))
      for (const dir of Object.values(dirs)) mkdirSync(dir, { recursive: true })
      const before = await gitStatus()
      const result = await run(["bun", "run", "opencode", "--", "plugin", "-g", `file://${PLUGIN}`], {
        PATH: process.env.PATH,
        HOME: dirs.home,
        XDG_CONFIG_HOME: dirs.config,
        XDG_DATA_HOME: dirs.data,
        XDG_CACHE_HOME: dirs.cache,
        XDG_STATE_HOME: dirs.state,
        OPENCODE_DISABLE_MODELS_FETCH: "1",
        OPENCODE_DISABLE_AUTOUPDATE: "1",
      })
      expect(result.code).toBe(0)
      const config = join(dirs.config as string, "opencode")
      expect(JSON.parse(readFileSync(join(config, "opencode.jsonc"), "utf8")).plugin).toEqual([`file://${PLUGIN}`])
      expect(JSON.parse(readFileSync(join(config, "tui.json"), "utf8")).plugin).toEqual([`file://${PLUGIN}`])
      expect(existsSync(join(ROOT, ".opencode", "opencode.json"))).toBe(false)
      expect(await gitStatus()).toBe(before)
    } finally {
      rmSync(box, { recursive: true, force: true })
    }
  }, 180_000)
})
