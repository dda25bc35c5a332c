import { expect, test } from "bun:test"
import { spawnSync } from "node:child_process"
import { readdirSync } from "node:fs"
import { build, DEFAULT_OUTDIR, PACKAGE_DIR } from "../../scripts/build.ts"
import { extensionDir, makeSandbox, readJson, responsesFor, useNetwork, writePiAuth } from "./harness.ts"

const setup = useNetwork()

// npm never asks the registry: the package comes from a file and declares no dependency
const npmOffline = { npm_config_offline: "true", npm_config_update_notifier: "false", npm_config_fund: "false" }

test("the packed package installs with `pi install npm:…` and serves the next prompt without -e", async () => {
  const main = setup.sim.addAccount({ accountId: "acct_pi_install", userId: "user_pi_install" })
  using box = makeSandbox(setup.net, npmOffline)
  writePiAuth(box, main)
  const packed = spawnSync("npm", ["pack", await extensionDir(), "--pack-destination", box.root], {
    env: { ...process.env, ...npmOffline },
    encoding: "utf8",
  })
  expect(packed.status).toBe(0)
  const tarball = readdirSync(box.root).find((name) => name.endsWith(".tgz"))
  if (tarball === undefined) throw new Error(`npm pack made no tarball: ${packed.stderr}`)

  const installed = await box.run(["install", `npm:@cortexkit/pi-openai-auth@file:${box.root}/${tarball}`])
  expect(installed.code).toBe(0)
  expect((readJson(`${box.agentDir}/settings.json`).packages as Array<string>)[0]).toStartWith(
    "npm:@cortexkit/pi-openai-auth@",
  )

  const result = await box.run(["--no-session", "-nc", "-p", "--model", "openai-codex/gpt-6-sol", "say hi"])
  expect(result.stdout).toContain("Hello from the Codex simulator")
  expect(result.code).toBe(0)
  const [request] = responsesFor(setup.sim, main.accountId)
  if (request === undefined) throw new Error("no request reached the simulator")
  // our request path served it: Codex's shape with the cache stabilizer appended
  const tools = (request.body as { tools?: Array<{ type: string }> }).tools ?? []
  expect(tools.filter((t) => t.type === "web_search")).toHaveLength(1)
  expect(setup.net.outsideAttempts()).toBe(0)
}, 120_000)

test("from a checkout after `bun run build:pi`: `pi -e packages/pi` and `pi install packages/pi/dist` both serve", async () => {
  // the README's checkout route: the workspace manifest's pi.extensions points at the build in packages/pi/dist
  const { outdir } = await build(DEFAULT_OUTDIR)
  const main = setup.sim.addAccount({ accountId: "acct_pi_checkout", userId: "user_pi_checkout" })
  const prompt = ["--no-session", "-nc", "-p", "--model", "openai-codex/gpt-6-sol", "say hi"]

  using loaded = makeSandbox(setup.net)
  writePiAuth(loaded, main)
  const once = await loaded.run(["-ne", "-e", PACKAGE_DIR, ...prompt])
  expect(once.stdout).toContain("Hello from the Codex simulator")
  expect(once.code).toBe(0)

  using installedBox = makeSandbox(setup.net)
  writePiAuth(installedBox, main)
  expect((await installedBox.run(["install", outdir])).code).toBe(0)
  const served = await installedBox.run(prompt)
  expect(served.stdout).toContain("Hello from the Codex simulator")
  expect(served.code).toBe(0)
  // both went through our request path: Codex's shape with the cache stabilizer appended
  const requests = responsesFor(setup.sim, main.accountId)
  expect(requests).toHaveLength(2)
  for (const request of requests) {
    const tools = (request.body as { tools?: Array<{ type: string }> }).tools ?? []
    expect(tools.filter((t) => t.type === "web_search")).toHaveLength(1)
  }
  expect(setup.net.outsideAttempts()).toBe(0)
}, 120_000)
