/**
 * The published libraries' packaging rules without building them (the example hosts' test builds, packs and
 * installs the real thing): the generated manifest, and what the pack check refuses.
 */
import { describe, expect, test } from "bun:test"
import { readFileSync } from "node:fs"
import { join } from "node:path"
import { effectPeerRange, libraryManifest } from "../../../scripts/build-libs.ts"
import type { PackReport } from "../../../scripts/pack-check.ts"
import { checkLibraryPack } from "../../../scripts/pack-libs-check.ts"

const ROOT = join(import.meta.dir, "..", "..", "..")
const source = JSON.parse(readFileSync(join(ROOT, "packages/accounts/package.json"), "utf8"))
const catalog = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).workspaces.catalog
const workspace = {
  "@cortexkit/openai-auth-core": source.version,
  "@cortexkit/openai-auth-transports": source.version,
  "@cortexkit/openai-auth-accounts": source.version,
}

describe("the libraries' published manifest", () => {
  const manifest = libraryManifest(source, { catalog, workspace })

  test("real versions in place of workspace: and catalog:, effect as a peer in the tested minor", () => {
    expect(manifest.dependencies).toEqual({
      "@cortexkit/openai-auth-core": source.version,
      "@cortexkit/openai-auth-transports": source.version,
    })
    expect(manifest.peerDependencies).toEqual({
      effect: `>=${catalog.effect} <4.2.0`,
      "@effect/platform-node-shared": `>=${catalog["@effect/platform-node-shared"]} <4.2.0`,
    })
    expect(JSON.stringify(manifest)).not.toMatch(/workspace:|catalog:/)
    expect(effectPeerRange("4.1.0")).toBe(">=4.1.0 <4.2.0")
    expect(effectPeerRange("4.12.3")).toBe(">=4.12.3 <4.13.0")
  })

  test("ESM with types and import conditions, internals closed, a files allow-list", () => {
    expect(manifest.type).toBe("module")
    expect(manifest.exports["."]).toEqual({ types: "./lib/index.d.ts", import: "./lib/index.js" })
    expect(manifest.exports["./*"]).toEqual({ types: "./lib/*.d.ts", import: "./lib/*.js" })
    expect(manifest.exports["./internal/*"]).toBeNull()
    expect(manifest.files).toEqual(["lib/", "src/", "README.md", "LICENSE"])
    expect(manifest.description.length).toBeGreaterThan(20)
    expect(manifest.license).toBe("MIT")
  })

  test("a dependency that is neither a workspace package nor in the catalog stops the build", () => {
    expect(() => libraryManifest({ ...source, dependencies: { leftpad: "^1.0.0" } }, { catalog, workspace })).toThrow(
      /neither workspace: nor catalog:/,
    )
  })

  const files: Record<string, string> = {
    "package.json": "{}",
    "README.md": "# accounts",
    LICENSE: "MIT",
    "lib/index.js": 'export * as CodexClient from "./CodexClient.js";\n',
    "lib/index.d.ts": 'export * as CodexClient from "./CodexClient.ts";\n//# sourceMappingURL=index.d.ts.map\n',
    "lib/index.d.ts.map": JSON.stringify({ sources: ["../src/index.ts"] }),
    "lib/CodexClient.js":
      'import { Effect } from "effect";\nimport { join } from "node:path";\nimport { x } from "@cortexkit/openai-auth-core/Settings";\nconst a = () => import("./ClientActions.js");\n',
    "lib/CodexClient.d.ts": 'import type { X } from "./ClientActions.ts";\n',
    "lib/ClientActions.js": "export {};\n",
    "lib/ClientActions.d.ts": "export {};\n",
    "src/index.ts": "",
  }
  const reportOf = (extra: Record<string, string> = {}): PackReport => ({
    name: manifest.name,
    version: manifest.version,
    filename: "x.tgz",
    size: 1,
    unpackedSize: 1,
    files: Object.keys({ ...files, ...extra }).map((path) => ({ path, size: 1 })),
  })
  const read = (extra: Record<string, string>) => (path: string) => ({ ...files, ...extra })[path] ?? ""

  test("a clean tarball passes: sources and declaration maps belong in it", () => {
    expect(checkLibraryPack(reportOf(), manifest, read({}))).toEqual([])
  })

  test("tests, JS maps, secrets, stray imports, dangling imports and maps, and an unpublishable manifest are refused", () => {
    const extra = {
      "lib/index.js.map": "{}",
      "test/CodexClient.test.ts": "",
      "lib/Leak.js":
        'import { z } from "zod";\nimport { y } from "./Missing.js";\nconst t = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789";\n',
      "lib/Leak.d.ts": 'import type { Y } from "./Gone.ts";\n',
      "lib/Orphan.js": "export {};\n",
      "lib/Mapped.d.ts": "",
      "lib/Mapped.d.ts.map": JSON.stringify({ sources: ["../../src/Mapped.ts"] }),
      "lib/Mapped.js": "export {};\n",
      "openai-auth.json": "{}",
    }
    const problems = checkLibraryPack(reportOf(extra), manifest, read(extra)).join("\n")
    for (const expected of [
      "lib/index.js.map: JavaScript source map",
      "test/CodexClient.test.ts: test directory",
      "lib/Leak.js: imports zod, which the package does not declare",
      "lib/Leak.js: imports ./Missing.js, which is not in the tarball",
      "lib/Leak.js: contains a OpenAI API key",
      "lib/Leak.d.ts: imports ./Gone.ts, which has no declaration in the tarball",
      "lib/Orphan.js: has no declaration",
      "lib/Mapped.d.ts.map: its source ../../src/Mapped.ts is not in the tarball",
      "openai-auth.json: credential store",
    ])
      expect(problems).toContain(expected)
    const bad = {
      ...manifest,
      private: true,
      scripts: { prepare: "x" },
      description: "",
      dependencies: { effect: "4.1.0", "@cortexkit/openai-auth-core": "workspace:*" },
      peerDependencies: {},
      exports: { ".": { import: "./lib/index.js" } },
    }
    const manifestProblems = checkLibraryPack(reportOf(), bad, read({})).join("\n")
    for (const expected of [
      "package.json: private",
      "package.json: has scripts",
      "package.json: no description",
      "package.json: effect is not a peer dependency",
      "package.json: effect is a dependency, not a peer",
      "package.json: dependencies.@cortexkit/openai-auth-core is still workspace:*",
      'package.json: exports["."] needs types and import conditions',
    ])
      expect(manifestProblems).toContain(expected)
  })
})
