import { expect, test } from "bun:test"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { baseArgs, makeSandbox, notification, promptAndWait, responsesFor, useNetwork, writePiAuth } from "./harness.ts"

const setup = useNetwork()

test("/openai-dump on in pi: the next turn's wire body, redacted headers and Pi's own request are dumped", async () => {
  const main = setup.sim.addAccount({ accountId: "acct_pi_dump", userId: "user_pi_dump" })
  using box = makeSandbox(setup.net)
  const dumpDir = join(box.root, "dumps")
  writePiAuth(box, main)
  const rpc = await box.rpc([...(await baseArgs()), "--model", "openai-codex/gpt-6-sol"], {
    env: { PI_OPENAI_AUTH_DUMP_DIR: dumpDir },
  })
  // off by default: a turn before the switch leaves nothing behind
  await promptAndWait(rpc, "p0", "before")
  expect(existsSync(dumpDir)).toBe(false)
  await promptAndWait(rpc, "dump-on", "/openai-dump on")
  await rpc.waitFor(notification("dump"))
  await promptAndWait(rpc, "p1", "say hi")
  await rpc.close()

  const [served] = responsesFor(setup.sim, main.accountId).slice(1)
  if (served === undefined) throw new Error("the second turn reached no account")
  expect(readFileSync(join(dumpDir, "README.txt"), "utf8")).toContain("FULL PROMPTS")
  const sessions = readdirSync(dumpDir).filter((name) => name !== "README.txt")
  expect(sessions).toHaveLength(1)
  const files = readdirSync(join(dumpDir, sessions[0] as string)).sort()
  expect(files.map((name) => name.replace(/^\d+-[^.]+/, "*"))).toEqual(["*.body.json", "*.meta.json", "*.request.json"])
  const base = join(dumpDir, sessions[0] as string, (files[0] as string).replace(/\.body\.json$/, ""))
  // the body is exactly what went on the wire, the meta names the account and Pi's transport, the token is out
  const body = JSON.parse(readFileSync(`${base}.body.json`, "utf8")) as { input: unknown; tools: unknown }
  expect(body.input).toEqual((served.body as { input: unknown }).input)
  const meta = JSON.parse(readFileSync(`${base}.meta.json`, "utf8")) as Record<string, unknown>
  expect(meta).toMatchObject({ account: "main", transport: "http", model: "gpt-6-sol", status: 200 })
  expect(JSON.stringify(meta.headers)).not.toContain(main.tokens.access)
  expect((meta.usage as { inputTokens: number } | undefined)?.inputTokens).toBeGreaterThan(0)
  // what Pi's own Codex stream handed to our fetch (decompressed when Pi sent zstd)
  const request = JSON.parse(readFileSync(`${base}.request.json`, "utf8")) as { body: { input?: unknown } }
  expect(request.body.input).toBeDefined()
  expect(statSync(`${base}.body.json`).mode & 0o777).toBe(0o600)
  expect(setup.net.outsideAttempts()).toBe(0)
}, 120_000)
