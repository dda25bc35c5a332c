/**
 * The tarball `npm publish` would upload from `packages/pi/dist/` is a Pi package (`bun run pack:pi:dry`):
 * the real build packed dry passes every rule, and each rule refuses what it is there for.
 */
import { describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type PackReport, packDry } from "../../../scripts/pack-check.ts"
import { checkPiPack } from "../../../scripts/pack-pi-check.ts"
import { build } from "../scripts/build.ts"

const reportOf = (paths: ReadonlyArray<string>): PackReport => ({
  name: "@cortexkit/pi-openai-auth",
  version: "0.1.0",
  filename: "x.tgz",
  size: 1,
  unpackedSize: 1,
  files: paths.map((path) => ({ path, size: 1 })),
})

const good = {
  name: "@cortexkit/pi-openai-auth",
  version: "0.1.0",
  keywords: ["pi-package"],
  type: "module",
  exports: { ".": "./index.js" },
  pi: { extensions: ["./index.js"] },
  peerDependencies: { "@earendil-works/pi-ai": "*", "@earendil-works/pi-coding-agent": "*" },
  engines: { node: ">=22.19" },
}
const files = ["package.json", "README.md", "LICENSE", "index.js", "chunks/Client-abc.js"]
const read =
  (code: Record<string, string> = {}) =>
  (path: string) =>
    code[path] ?? (path.endsWith(".js") ? `import { x } from "@earendil-works/pi-ai"; import "node:fs"` : "{}")

describe("pack:pi:dry", () => {
  test("the real build, packed dry, is a publishable Pi package", async () => {
    const { outdir } = await build(mkdtempSync(join(tmpdir(), "pi-pack-")))
    const report = await packDry(outdir)
    const manifest = JSON.parse(readFileSync(join(outdir, "package.json"), "utf8"))
    expect(checkPiPack(report, manifest, (path) => readFileSync(join(outdir, path), "utf8"))).toEqual([])
    expect(report.files.map((f) => f.path)).toContain("index.js")
  }, 60_000)

  test("each rule refuses what it guards against", () => {
    expect(checkPiPack(reportOf(files), good, read())).toEqual([])
    const problems = (manifest: Record<string, unknown>, paths = files, code?: Record<string, string>) =>
      checkPiPack(reportOf(paths), manifest, read(code)).join("\n")
    expect(problems({ ...good, keywords: ["pi"] })).toContain('no keyword "pi-package"')
    expect(problems({ ...good, pi: { extensions: ["./dist/index.js"] } })).toContain("./dist/index.js is not packed")
    expect(problems({ ...good, dependencies: { effect: "4.1.0" } })).toContain("has dependencies")
    expect(problems({ ...good, peerDependencies: { "@earendil-works/pi-ai": "*" } })).toContain(
      "@earendil-works/pi-coding-agent is not a peer",
    )
    expect(problems(good, files, { "index.js": `import { Effect } from "effect"` })).toContain(
      "imports effect, which is neither bundled nor a declared peer",
    )
    expect(problems(good, [...files, "src/index.ts", "test/x.test.js"])).toContain("src/index.ts: not a file")
    expect(problems(good, files.slice(1))).toContain("package.json: missing")
  })
})
