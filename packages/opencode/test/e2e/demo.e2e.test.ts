/**
 * `bun run demo` shows what the README says it shows: a tool call whose result goes back to the model, a
 * visible line when the main account hits its usage limit and the plugin falls back, and a quota table that
 * agrees with itself (an exhausted account's window is not "0% used").
 */
import { describe, expect, test } from "bun:test"
import { join } from "node:path"

const ROOT = join(import.meta.dir, "..", "..", "..", "..")

describe("bun run demo", () => {
  test("prints the tool call and its result, the fallback, and a quota table that agrees with itself", async () => {
    const proc = Bun.spawn(["bun", "run", "demo"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" })
    const [stdout, stderr, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    const out = stdout.replace(/\r/g, "")
    if (code !== 0) throw new Error(`the demo exited ${code}:\n${out}\n${stderr}`)
    const turn = (n: number) => out.split(/\nTurn \d: /)[n] ?? ""

    // turn 1: the tool call, its result back to the model, then the answer that used it
    expect(turn(1)).toMatch(/tool call: the model called read\(\{"filePath":"[^"]+\/README\.md"\}\)/)
    expect(turn(1)).toMatch(/tool result: OpenCode ran it and sent its output back to the model \(\d+ chars\)/)
    expect(turn(1).match(/served by main:/g)).toHaveLength(2)
    expect(turn(1)).toContain("answer: It is a tiny demo project with a README.")
    // OpenCode's title request did not take a scripted answer: each turn got its own
    expect(turn(2)).toContain("answer: Tiny demo project, one README.")

    // turn 3: the usage limit, said plainly, and the fallback serving the same request
    expect(turn(3)).toContain("usage limit: main answered 429 usage_limit_reached; the plugin falls back")
    expect(turn(3)).toMatch(/served by work \(fallback\)/)
    expect(turn(3)).toMatch(/plugin log: INFO request served after retries .*"main: UsageLimit"/)
    expect(turn(3)).toContain("answer: Plugin Demo: One README, Many Accounts.")
    expect(turn(4)).toMatch(/served by work \(fallback\): \d+ input tokens, 9\d% from cache/)

    // the quota table: every account polled, the exhausted one at 100% of the window it hit
    const table = out.slice(out.indexOf("$ openai-auth quota"))
    // (the reset times count down while the demo runs, and a reading taken within a window's first minute
    // still shows its full length: only their shape is checked)
    expect(table).toMatch(/^\s+main\s+100%\s+in [45]h \d\dm\s+34%\s+in [67]d \d+h\s+exhausted, resets in [45]h \d\dm$/m)
    expect(table).toMatch(/^\s+work\s+12%\s+in [45]h \d\dm\s+20%\s+in [67]d \d+h\s+active$/m)
    for (const line of table.split("\n")) if (line.includes("exhausted")) expect(line).not.toMatch(/\s0%/)
  }, 300_000)
})
