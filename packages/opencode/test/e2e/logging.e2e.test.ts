/**
 * `/openai-logging <level>` is live in a running OpenCode, whichever way the level is changed: the slash
 * command's argument form (handled by the server part) and `openai-auth logging` from another terminal (the
 * file only: the server follows it). The real binary (`opencode serve`) answers prompts in one session; after
 * each change, the next request's log lines follow the new level. The TUI dialog's way is in tui.e2e.test.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { runCli } from "../support/cli.ts"
import { makeSandbox } from "./harness.ts"

let sim: SimulatorHandle
beforeAll(async () => {
  sim = await startSimulator({ defaultText: "Hello from the Codex simulator" })
})
afterAll(async () => {
  await sim.stop()
})

const logLines = (path: string) => (existsSync(path) ? readFileSync(path, "utf8").split("\n").filter(Boolean) : [])
const levelOf = (line: string) => line.split(" ")[1]

describe("the log level, changed while OpenCode runs", () => {
  test("the next request's lines follow the slash command's level and the CLI's, from another process", async () => {
    const main = sim.addAccount({ accountId: "acct_log_main", userId: "user_log_main" })
    // the level comes from the file (the default, info), not from the environment
    using box = makeSandbox(sim, main, { OPENCODE_OPENAI_AUTH_LOG_LEVEL: "" })
    await using served = await box.serve()
    const session = await served.session()
    /** sends one prompt and returns the log lines it added */
    const turn = async (text: string) => {
      const before = logLines(box.logFile).length
      expect(await served.prompt(session, text)).toContain("Hello from the Codex simulator")
      // the logger writes in the background: the request's last line is the debug "request served" or nothing
      return logLines(box.logFile).slice(before)
    }

    // 1. info: a served request writes nothing
    const atInfo = await turn("first")
    expect(atInfo.filter((l) => ["DEBUG", "TRACE"].includes(levelOf(l) ?? ""))).toEqual([])

    // 2. `openai-auth logging debug` from another terminal: only the file changes
    const cliEnv = { env: { ...box.env, OPENCODE_OPENAI_AUTH_LOG_LEVEL: "" } }
    expect((await runCli(cliEnv, ["logging", "debug"])).stdout).toContain("log level set to debug")
    await waitForLine(
      box.logFile,
      (l) => l.includes("request served"),
      () => served.prompt(session, "second"),
    )
    const atDebug = logLines(box.logFile)
    expect(atDebug.some((l) => l.includes("INFO log level changed") && l.includes('"level":"debug"'))).toBe(true)
    expect(atDebug.some((l) => levelOf(l) === "DEBUG" && l.includes("request served"))).toBe(true)
    expect(atDebug.some((l) => levelOf(l) === "TRACE")).toBe(false)

    // 3. the slash command's argument form, through the server part: trace, with redacted wire detail
    expect(await served.command(session, "openai-logging", "trace")).toBe(500)
    const beforeTrace = logLines(box.logFile).length
    await waitForLine(
      box.logFile,
      (l) => levelOf(l) === "TRACE" && l.includes("answered"),
      () => served.prompt(session, "third"),
    )
    const atTrace = logLines(box.logFile).slice(beforeTrace)
    const sending = atTrace.find((l) => levelOf(l) === "TRACE" && l.includes(" sending "))
    expect(sending).toBeDefined()
    expect(sending).toContain('"authorization":"[REDACTED]"')
    expect(sending).toContain(`"chatgpt-account-id":"${main.accountId}"`)
    expect(sending).not.toContain('"input"')

    // 4. back down from another terminal: warn, and the next request writes nothing at all
    expect((await runCli(cliEnv, ["logging", "warn"])).code).toBe(0)
    const beforeWarn = logLines(box.logFile).length
    expect(await served.prompt(session, "fourth")).toContain("Hello from the Codex simulator")
    await served.prompt(session, "fifth")
    const atWarn = logLines(box.logFile).slice(beforeWarn)
    expect(atWarn.filter((l) => ["INFO", "DEBUG", "TRACE"].includes(levelOf(l) ?? ""))).toEqual([])

    // never a token or a prompt, at any level
    const log = readFileSync(box.logFile, "utf8")
    for (const secret of [main.tokens.access, main.tokens.refresh]) expect(log).not.toContain(secret)
    for (const prompt of ["first", "second", "third"]) expect(log).not.toContain(`"${prompt}"`)
  }, 240_000)
})

/**
 * Runs `act`, then polls the log (bounded) until a line satisfies `test`: the logger appends in the
 * background, so the request's lines may land a moment after its answer.
 */
const waitForLine = async (path: string, test: (line: string) => boolean, act: () => Promise<unknown>) => {
  const before = logLines(path).length
  await act()
  const deadline = Date.now() + 30_000
  while (!logLines(path).slice(before).some(test)) {
    if (Date.now() > deadline)
      throw new Error(`no such log line; the log ends:\n${logLines(path).slice(-15).join("\n")}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
