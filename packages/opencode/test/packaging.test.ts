/**
 * The release and packaging scripts that cannot run for real here: the tarball rules, the publish manifest,
 * the version bump and the publish decision, release.sh against a throwaway repository with a local bare
 * origin (dry run, refusals, and a real run), wait-release.sh against a stub `gh`, the dev links, and the
 * shape of the release workflow.
 */
import { afterAll, describe, expect, test } from "bun:test"
import {
  chmodSync,
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { publishManifest } from "../../../scripts/build.ts"
import { devFiles, linkDev } from "../../../scripts/dev.ts"
import { cleanDev } from "../../../scripts/dev-clean.ts"
import { checkPack, importedPackages, type PackReport } from "../../../scripts/pack-check.ts"
import { bumpVersions, isVersion, publishDecision, setVersion } from "../../../scripts/release-tools.ts"

const ROOT = join(import.meta.dir, "..", "..", "..")
const temps: Array<string> = []
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  temps.push(dir)
  return dir
}
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true })
})

const sh = async (cmd: ReadonlyArray<string>, cwd: string, env: Record<string, string> = {}) => {
  const proc = Bun.spawn([...cmd], {
    cwd,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@example.invalid",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@example.invalid",
      GIT_CONFIG_NOSYSTEM: "1",
      ...env,
    },
    stdout: "pipe",
    stderr: "pipe",
  })
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  return { code, stdout, stderr }
}

describe("publish decision (the release workflow's skip logic)", () => {
  test("skips a version npm already lists, publishes any other", () => {
    expect(publishDecision('["0.1.0","0.2.0"]', "0.2.0")).toBe("skip")
    expect(publishDecision('[\n  "0.1.0"\n]\n', "0.2.0")).toBe("publish")
    // npm prints a lone version unwrapped
    expect(publishDecision('"0.1.0"', "0.1.0")).toBe("skip")
    expect(publishDecision('"0.1.0"', "0.1.1")).toBe("publish")
  })

  test("a package not on npm yet is published; any other failure stops the job", () => {
    expect(publishDecision("", "0.1.0")).toBe("publish")
    expect(publishDecision('{"error":{"code":"E404","summary":"Not Found"}}', "0.1.0")).toBe("publish")
    expect(() => publishDecision('{"error":{"code":"E500"}}', "0.1.0")).toThrow("unexpected npm view output")
    expect(() => publishDecision("npm ERR! network", "0.1.0")).toThrow("cannot read npm view output")
  })

  test("the CLI form reads npm view's answer on stdin", async () => {
    const proc = Bun.spawn(["bun", join(ROOT, "scripts/release-tools.ts"), "should-publish", "1.0.0"], {
      stdin: new TextEncoder().encode('["0.9.0","1.0.0"]'),
      stdout: "pipe",
    })
    expect((await new Response(proc.stdout).text()).trim()).toBe("skip")
    expect(await proc.exited).toBe(0)
  })
})

describe("version bump", () => {
  test("semver only, no leading v", () => {
    for (const ok of ["0.2.0", "1.0.0-rc.1", "10.20.30"]) expect(isVersion(ok)).toBe(true)
    for (const bad of ["v0.2.0", "0.2", "01.0.0", "0.2.0 ", "latest"]) expect(isVersion(bad)).toBe(false)
  })

  test("rewrites only the version line, keeping the file's formatting", () => {
    const text = '{\n  "name": "x",\n  "version": "0.1.0",\n  "dependencies": {\n    "y": "0.1.0"\n  }\n}\n'
    expect(setVersion(text, "0.2.0")).toBe(text.replace('"version": "0.1.0"', '"version": "0.2.0"'))
  })

  test("bumps every workspace package; --dry writes nothing", () => {
    const root = temp("oa-bump-")
    for (const name of ["a", "b"]) {
      mkdirSync(join(root, "packages", name), { recursive: true })
      writeFileSync(join(root, "packages", name, "package.json"), `{\n  "name": "${name}",\n  "version": "0.1.0"\n}\n`)
    }
    mkdirSync(join(root, "packages", "no-manifest"))
    const dry = bumpVersions("0.3.0", { root, dry: true })
    expect(dry).toEqual([
      { path: "packages/a/package.json", from: "0.1.0", to: "0.3.0" },
      { path: "packages/b/package.json", from: "0.1.0", to: "0.3.0" },
    ])
    expect(JSON.parse(readFileSync(join(root, "packages/a/package.json"), "utf8")).version).toBe("0.1.0")
    bumpVersions("0.3.0", { root })
    expect(JSON.parse(readFileSync(join(root, "packages/b/package.json"), "utf8")).version).toBe("0.3.0")
    expect(() => bumpVersions("v1", { root })).toThrow("not a semver version")
  })
})

describe("the publish manifest and the tarball rules", () => {
  const source = {
    name: "@cortexkit/opencode-openai-auth",
    version: "0.4.0",
    engines: { node: ">=22.19", opencode: ">=1.18.0 <2" },
    dependencies: {
      effect: "catalog:",
      "@effect/platform-node-shared": "catalog:",
      "@cortexkit/openai-auth-core": "workspace:*",
    },
  }

  test("declares no dependency (everything is bundled) and points at the built entries", () => {
    const manifest = publishManifest(source)
    expect(manifest).not.toHaveProperty("dependencies")
    expect(manifest.exports).toEqual({
      "./server": "./server.js",
      "./tui": "./tui.js",
      "./package.json": "./package.json",
    })
    expect(manifest.bin).toEqual({ "openai-auth": "./cli.js" })
    expect(manifest.engines).toEqual(source.engines)
    expect(manifest).not.toHaveProperty("scripts")
  })

  // minified, as the build writes them
  const files: Record<string, string> = {
    "package.json": "{}",
    "README.md": "# readme",
    "server.js": 'import{connect}from"node:tls";const core=()=>import("./chunks/core-x.js");\n',
    "tui.js": 'import{createComponent}from"@opentui/solid";import{createSignal}from"solid-js";\n',
    "cli.js": '#!/usr/bin/env node\nconst m=await import("./chunks/run-x.js");\n',
    "chunks/core-x.js": 'import{statSync}from"fs";var text="import x from \\"not-an-import\\"";\n',
    "chunks/run-x.js": 'import{join}from"node:path";\n',
  }
  const reportOf = (extra: Record<string, string> = {}): PackReport => ({
    name: "x",
    version: "0.4.0",
    filename: "x.tgz",
    size: 1,
    unpackedSize: 1,
    files: Object.keys({ ...files, ...extra }).map((path) => ({ path, size: 1 })),
  })
  const good = publishManifest(source)
  const read = (extra: Record<string, string>) => (path: string) => ({ ...files, ...extra })[path] ?? ""

  test("a clean tarball passes", () => {
    expect(checkPack(reportOf(), good, read({}))).toEqual([])
    // the TUI's lazily loaded chunks may import the host's Solid and OpenTUI too, whatever they are called
    const lazy = {
      "tui.js": 'const live=()=>import("./chunks/Live-x.js");\n',
      "chunks/Live-x.js": 'import{render}from"@opentui/solid";import{a}from"./dialogs-y.js";\n',
      "chunks/dialogs-y.js": 'import{createSignal}from"solid-js";\n',
    }
    expect(checkPack(reportOf(lazy), good, read(lazy))).toEqual([])
    expect(importedPackages(files["tui.js"] as string)).toEqual(["@opentui/solid", "solid-js"])
    // imports are read by a parser: minified forms count, text inside strings does not
    expect(importedPackages(files["chunks/core-x.js"] as string)).toEqual(["fs"])
    expect(importedPackages('export*from"a";import"b";export{c}from"c";')).toEqual(["a", "b", "c"])
  })

  test("tests, maps, sources, fixtures, secrets and stray imports are refused", () => {
    const extra = {
      "server.js.map": "{}",
      "test/cli.test.js": "",
      "src/server.ts": "",
      "fixtures/auth.json": "",
      ".env": "",
      "keys/signing.pem": "",
      "chunks/leak.js":
        'import{x}from"@cortexkit/openai-auth-core/Settings";const t="eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.c2lnbmF0dXJlMTIz";\n',
      "chunks/host.js": 'import{render}from"@opentui/solid";\n',
      "chunks/unbundled.js": 'import{Effect}from"effect";const n=()=>import("@effect/platform-node-shared");\n',
    }
    const problems = checkPack(reportOf(extra), good, read(extra)).join("\n")
    for (const expected of [
      "server.js.map: source map",
      "test/cli.test.js: test directory",
      "src/server.ts: sources or workspace packages",
      "fixtures/auth.json: fixture",
      ".env: .env file",
      "keys/signing.pem: key or certificate",
      "chunks/leak.js: imports @cortexkit/openai-auth-core/Settings",
      "chunks/leak.js: contains a JWT",
      "chunks/host.js: imports the host-only module @opentui/solid",
      "chunks/unbundled.js: imports effect, which the build must bundle",
      "chunks/unbundled.js: imports @effect/platform-node-shared, which the build must bundle",
    ])
      expect(problems).toContain(expected)
  })

  test("a manifest that is private, scripted, with dependencies or without engines is refused", () => {
    const bad = {
      ...good,
      private: true,
      scripts: { postinstall: "x" },
      engines: {},
      dependencies: { effect: "4.1.0" },
    }
    const problems = checkPack(reportOf(), bad, read({}))
    expect(problems).toEqual(
      expect.arrayContaining([
        "package.json: private",
        "package.json: has scripts",
        "package.json: unexpected dependency effect",
        "package.json: engines.opencode is not set",
        "package.json: engines.node is not set",
      ]),
    )
  })
})

describe("release.sh against a throwaway repository", () => {
  const makeRepo = async () => {
    const base = temp("oa-release-")
    const origin = join(base, "origin.git")
    const repo = join(base, "repo")
    mkdirSync(join(repo, "scripts"), { recursive: true })
    for (const file of ["release.sh", "release-tools.ts"])
      copyFileSync(join(ROOT, "scripts", file), join(repo, "scripts", file))
    chmodSync(join(repo, "scripts", "release.sh"), 0o755)
    for (const name of ["core", "opencode"]) {
      mkdirSync(join(repo, "packages", name), { recursive: true })
      writeFileSync(join(repo, "packages", name, "package.json"), `{\n  "name": "${name}",\n  "version": "0.1.0"\n}\n`)
    }
    expect((await sh(["git", "init", "-q", "--bare", "-b", "main", origin], base)).code).toBe(0)
    for (const cmd of [
      ["git", "init", "-q", "-b", "main"],
      ["git", "add", "."],
      ["git", "commit", "-q", "-m", "init"],
      ["git", "remote", "add", "origin", origin],
      ["git", "push", "-q", "origin", "main"],
    ])
      expect((await sh(cmd, repo)).code).toBe(0)
    return { repo, origin, release: (...args: Array<string>) => sh(["./scripts/release.sh", ...args], repo) }
  }
  const head = async (repo: string) => (await sh(["git", "rev-parse", "HEAD"], repo)).stdout.trim()

  test("--dry shows the bump and the commands and changes nothing", async () => {
    const { repo, release } = await makeRepo()
    const before = await head(repo)
    const result = await release("0.2.0", "--dry")
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("would bump packages/core/package.json: 0.1.0 -> 0.2.0")
    expect(result.stdout).toContain("would bump packages/opencode/package.json: 0.1.0 -> 0.2.0")
    expect(result.stdout).toContain('would run: git commit -m "release: v0.2.0"')
    expect(result.stdout).toContain("would run: git tag -a v0.2.0")
    expect(result.stdout).toContain("would run: git push origin v0.2.0")
    expect(await head(repo)).toBe(before)
    expect((await sh(["git", "status", "--porcelain"], repo)).stdout).toBe("")
    expect((await sh(["git", "tag"], repo)).stdout).toBe("")
  })

  test("refuses a dirty tree, another branch, a bad version and an existing tag", async () => {
    const { repo, release } = await makeRepo()
    writeFileSync(join(repo, "stray.txt"), "x")
    const dirty = await release("0.2.0", "--dry")
    expect(dirty.code).toBe(1)
    expect(dirty.stderr).toContain("the working tree is not clean")
    expect(dirty.stderr).toContain("stray.txt")
    rmSync(join(repo, "stray.txt"))
    expect((await release("v0.2.0", "--dry")).stderr).toContain("not a semver version")
    expect((await release("0.1.0", "--dry")).stderr).toContain("already at 0.1.0")
    await sh(["git", "tag", "v0.2.0"], repo)
    expect((await release("0.2.0", "--dry")).stderr).toContain("tag v0.2.0 already exists")
    await sh(["git", "checkout", "-q", "-b", "feature"], repo)
    const branch = await release("0.3.0", "--dry")
    expect(branch.code).toBe(1)
    expect(branch.stderr).toContain("releases are cut from main, this is feature")
  })

  test("a real run bumps, commits, tags and pushes to origin", async () => {
    const { repo, origin, release } = await makeRepo()
    const result = await release("0.2.0")
    expect(result.code).toBe(0)
    for (const name of ["core", "opencode"])
      expect(JSON.parse(readFileSync(join(repo, "packages", name, "package.json"), "utf8")).version).toBe("0.2.0")
    const tagged = (await sh(["git", "rev-parse", "v0.2.0^{commit}"], origin)).stdout.trim()
    expect(tagged).toBe(await head(repo))
    expect((await sh(["git", "log", "-1", "--format=%s", "main"], origin)).stdout.trim()).toBe("release: v0.2.0")
  })
})

describe("wait-release.sh", () => {
  const script = join(ROOT, "scripts", "wait-release.sh")
  const stubGh = (body: string) => {
    const bin = temp("oa-gh-")
    writeFileSync(join(bin, "gh"), `#!/bin/bash\necho "$*" >> "${bin}/calls"\n${body}\n`)
    chmodSync(join(bin, "gh"), 0o755)
    return bin
  }

  test("fails clearly when gh is missing", async () => {
    const empty = temp("oa-nogh-")
    const result = await sh(["/bin/bash", script, "v1.2.3"], tmpdir(), { PATH: empty })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("the GitHub CLI (gh) is not installed")
  })

  test("finds the tag's release run and follows it to its conclusion", async () => {
    const bin = stubGh('case "$2" in list) echo 4242;; watch) exit 0;; view) echo "success: https://x/4242";; esac')
    const result = await sh(["/bin/bash", script, "v1.2.3"], tmpdir(), { PATH: `${bin}:/usr/bin:/bin` })
    expect(result.code).toBe(0)
    expect(result.stdout).toContain("success: https://x/4242")
    const calls = readFileSync(join(bin, "calls"), "utf8")
    expect(calls).toContain("run list --workflow release.yaml --branch v1.2.3 --event push")
    expect(calls).toContain("run watch 4242 --exit-status")
  })

  test("a failed run or a run that never appears fails the script", async () => {
    const failing = stubGh('case "$2" in list) echo 7;; watch) exit 1;; esac')
    const failed = await sh(["/bin/bash", script, "v1.2.3"], tmpdir(), { PATH: `${failing}:/usr/bin:/bin` })
    expect(failed.code).toBe(1)
    expect(failed.stderr).toContain("the release run 7 failed")
    const none = stubGh("exit 0")
    const missing = await sh(["/bin/bash", script, "v1.2.3"], tmpdir(), {
      PATH: `${none}:/usr/bin:/bin`,
      WAIT_RELEASE_ATTEMPTS: "2",
      WAIT_RELEASE_INTERVAL: "0",
    })
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain("no release.yaml run for v1.2.3")
  })
})

describe("bun run dev links", () => {
  test("links the server build and a tui.json, and dev:clean removes only what dev made", () => {
    const root = temp("oa-dev-")
    const dist = join(root, "packages", "opencode", "dist")
    mkdirSync(dist, { recursive: true })
    writeFileSync(join(dist, "server.js"), "export default {}")
    const paths = { root, dist }
    const { link, tuiConfig } = devFiles(paths)
    linkDev(paths)
    expect(lstatSync(link).isSymbolicLink()).toBe(true)
    expect(realpathSync(link)).toBe(realpathSync(join(dist, "server.js")))
    expect(JSON.parse(readFileSync(tuiConfig, "utf8"))).toEqual({ plugin: ["../packages/opencode/dist/tui.js"] })
    linkDev(paths) // again: replaces its own link
    expect(cleanDev(paths)).toEqual([
      `removed .opencode/plugins/cortexkit-openai-auth.js`,
      "removed .opencode/tui.json",
    ])
    expect(existsSync(join(root, ".opencode"))).toBe(false)
    linkDev(paths)
    writeFileSync(tuiConfig, '{"plugin":["mine"]}')
    expect(cleanDev(paths)).toContain("kept .opencode/tui.json (edited since dev wrote it)")
    expect(existsSync(tuiConfig)).toBe(true)
  })
})

describe("the release workflow", () => {
  const workflow = Bun.YAML.parse(readFileSync(join(ROOT, ".github/workflows/release.yaml"), "utf8")) as {
    on: { push: { tags: Array<string> } }
    permissions: Record<string, string>
    jobs: { release: { steps: Array<{ run?: string; "working-directory"?: string }> } }
  }
  const steps = workflow.jobs.release.steps

  test("runs on version tags with OIDC, checks before publishing, and publishes the build with provenance", () => {
    expect(workflow.on.push.tags).toEqual(["v*"])
    expect(workflow.permissions["id-token"]).toBe("write")
    const runs = steps.map((s) => s.run ?? "")
    const at = (needle: string) => runs.findIndex((r) => r.includes(needle))
    const publish = at("npm publish --provenance --access public")
    expect(publish).toBeGreaterThan(0)
    for (const check of ["bun run typecheck", "bun run lint", "bun run test", "bun run pack:opencode:dry"])
      expect(at(check)).toBeGreaterThan(-1)
    for (const check of ["bun run typecheck", "bun run lint", "bun run test", "bun run pack:opencode:dry"])
      expect(at(check)).toBeLessThan(publish)
    expect(runs[publish]).toContain("release-tools.ts should-publish")
    expect(steps[publish]?.["working-directory"]).toBe("packages/opencode/dist")
    expect(at("gh release create")).toBeGreaterThan(publish)
  })

  test("publishes the libraries too, in dependency order, checked first and skipped when already on npm", () => {
    const runs = steps.map((s) => s.run ?? "")
    const libs = runs.findIndex((r) => r.includes("for lib in core transports accounts"))
    expect(libs).toBeGreaterThan(runs.findIndex((r) => r.includes("bun run pack:libs:dry")))
    expect(runs.findIndex((r) => r.includes("bun run pack:libs:dry"))).toBeGreaterThan(
      runs.findIndex((r) => r.includes("bun run test")),
    )
    expect(runs[libs]).toContain("release-tools.ts should-publish")
    expect(runs[libs]).toContain("npm publish --provenance --access public")
  })

  test("every run block is valid bash", async () => {
    for (const step of steps) {
      if (step.run === undefined) continue
      const result = await sh(["bash", "-n", "-c", step.run], tmpdir())
      expect(result.stderr).toBe("")
    }
  })
})

describe("the README's test command", () => {
  test("is what .ci/run runs, step for step (CI runs what a newcomer runs)", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8")
    const line = readme.split("\n").find((l) => l.includes("bun run test") && l.startsWith("npm i -g bun@"))
    expect(line).toBeDefined()
    const readmeSteps = (line as string).split(" && ").map((s) => s.trim())
    const ciSteps = readFileSync(join(ROOT, ".ci/run"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l !== "" && !l.startsWith("#") && !l.startsWith("set ") && !l.startsWith("cd "))
      // tmux is the TUI test's tool, installed by CI when missing (the README says so)
      .filter((l) => !l.startsWith("command -v tmux"))
    expect(ciSteps).toEqual(readmeSteps)
  })
})
