/**
 * The TUI dialog and the CLI show the value in effect, as the server command does (settings-in-effect e2e):
 * with `CORTEXKIT_OPENAI_AUTH_DUMP=1` in their environment the file's "off" is named as overridden.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { main } from "../src/cli/Main.ts"
import { makeTuiRuntime, tuiLayer } from "../src/tui/Runtime.ts"

const root = mkdtempSync(join(tmpdir(), "oa-in-effect-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))

const envWith = (name: string, extra: Record<string, string>) => {
  const dir = join(root, name)
  const file = join(dir, "openai-auth.json")
  mkdirSync(dir, { recursive: true })
  writeFileSync(file, JSON.stringify({ version: 1, dump: false }), { mode: 0o600 })
  return {
    OPENCODE_OPENAI_AUTH_FILE: file,
    OPENCODE_OPENAI_AUTH_LOG_FILE: join(dir, "log"),
    XDG_DATA_HOME: join(dir, "data"),
    ...extra,
  }
}

describe("the value in effect outside the server", () => {
  test("the TUI's dump dialog reads it from the same command", async () => {
    const env = envWith("tui", { CORTEXKIT_OPENAI_AUTH_DUMP: "1" })
    const runtime = makeTuiRuntime(tuiLayer(env))
    try {
      const shown = await runtime.commands((c) => c.dumpShow())
      expect(shown).toMatchObject({
        ok: true,
        summary: "request dumps on (CORTEXKIT_OPENAI_AUTH_DUMP=1 overrides the file's off)",
        data: { enabled: true, saved: false },
      })
    } finally {
      await runtime.dispose()
    }
  })

  test("openai-auth dump says it too; without the variable the file's value is shown plainly", async () => {
    const out: Array<string> = []
    const io = (env: Record<string, string>) => ({ out: (t: string) => out.push(t), err: () => undefined, env })
    expect(await main(["dump"], io(envWith("cli", { CORTEXKIT_OPENAI_AUTH_DUMP: "yes" })))).toBe(0)
    expect(await main(["dump"], io(envWith("cli-plain", {})))).toBe(0)
    expect(out).toEqual([
      "request dumps on (CORTEXKIT_OPENAI_AUTH_DUMP=yes overrides the file's off)",
      "request dumps off",
    ])
  })
})
