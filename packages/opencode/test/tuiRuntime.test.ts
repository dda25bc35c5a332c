import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { parseCommand } from "@cortexkit/openai-auth-accounts/CommandSyntax"
import { makeTuiRuntime, type TuiRuntime } from "../src/tui/Runtime.ts"

let dir: string
let runtime: TuiRuntime
const saved = process.env.OPENCODE_OPENAI_AUTH_FILE

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "tui-runtime-"))
  process.env.OPENCODE_OPENAI_AUTH_FILE = join(dir, "openai-auth.json")
  runtime = makeTuiRuntime()
})

afterAll(async () => {
  await runtime.dispose()
  if (saved === undefined) delete process.env.OPENCODE_OPENAI_AUTH_FILE
  else process.env.OPENCODE_OPENAI_AUTH_FILE = saved
  rmSync(dir, { recursive: true, force: true })
})

describe("TUI runtime", () => {
  test("applies a parsed command through the shared store", async () => {
    const parsed = parseCommand("routing", ["fallback-first"])
    if (!parsed.ok) throw new Error(parsed.error)
    const outcome = await runtime.run(parsed.command)
    expect(outcome).toEqual({ ok: true, summary: "routing set to fallback-first", data: { routing: "fallback-first" } })
    expect(JSON.parse(readFileSync(join(dir, "openai-auth.json"), "utf8")).routing).toBe("fallback-first")
    expect(await runtime.storePath()).toBe(join(dir, "openai-auth.json"))
  })

  test("a refused command is an outcome, not a rejection", async () => {
    const parsed = parseCommand("account", ["remove", "main"])
    if (!parsed.ok) throw new Error(parsed.error)
    const outcome = await runtime.run(parsed.command)
    expect(outcome.ok).toBe(false)
    if (!outcome.ok) expect(outcome.message).toContain("cannot remove the main account")
  })

  test("command bodies and the snapshot read what is on disk", async () => {
    const listed = await runtime.commands((c) => c.listAccounts())
    expect(listed.ok && listed.data.accounts.map((a) => a.key)).toEqual(["main"])
    writeFileSync(
      join(dir, "openai-auth-state.json"),
      JSON.stringify({ updatedAt: 5, lastServed: { key: "main", at: 5 } }),
    )
    const snap = await runtime.snapshot()
    expect("doc" in snap && snap.doc.routing).toBe("fallback-first")
    expect("state" in snap && snap.state.lastServed?.key).toBe("main")
  })
})
