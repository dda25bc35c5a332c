/**
 * The real OpenCode TUI with both plugin parts, driven through tmux, from the state a user has: a main login
 * and a fallback account that has never served a request (no quota reading anywhere).
 *
 * - `/openai-quota` (one Enter, the interceptor) opens the dialog at once, shows it is refreshing, and fills in
 *   the fallback's real 5h and weekly figures when its usage poll answers; a fallback whose login is dead says
 *   why in a few words. The command palette's entry polls again.
 * - The sidebar shows the quota the simulator reported with the first answered prompt.
 * - `/openai-routing fallback-first` changes the store with a toast and no model request.
 * - The logging dialog's choice reaches the server part: the next request is logged at that level.
 */
import { describe, expect, test } from "bun:test"
import { existsSync, readFileSync } from "node:fs"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { makeSandbox, storedAccount, writeStore } from "./harness.ts"
import { configureTui, startTui, type Tui, tmuxAvailable, waitForPromptInput } from "./tui-harness.ts"

const ANSWER = "Hello from the Codex simulator"

const modelRequests = (sim: SimulatorHandle) => sim.requests.filter((r) => r.path.endsWith("/codex/responses")).length

/**
 * Model requests whose body carries `text`. After the first prompt OpenCode's own title request may arrive at
 * any time (late on a busy machine), so "the command caused no model call" is checked by what was sent.
 */
const modelRequestsMentioning = (sim: SimulatorHandle, text: string) =>
  sim.requests.filter((r) => r.path.endsWith("/codex/responses") && JSON.stringify(r.body).includes(text)).length

/** fails with the screen in the message, so a broken run says what was on the terminal */
const check = (ok: boolean, what: string, screen: string) => {
  if (!ok) throw new Error(`${what}; the screen was:\n${screen}`)
}

const logText = (path: string) => (existsSync(path) ? readFileSync(path, "utf8") : "")

/** polls `test` until it holds or `timeoutMs` passes (for files written in the background) */
const waitFor = async (test: () => boolean, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  while (!test()) {
    if (Date.now() > deadline) return false
    await Bun.sleep(100)
  }
  return true
}

const readStore = (path: string) => JSON.parse(readFileSync(path, "utf8")) as { routing?: string }

/** Types a slash line and presses Enter once the line is on screen. */
const submit = async (tui: Tui, line: string) => {
  await tui.type(line)
  await tui.waitFor(`"${line}" in the prompt`, (s) => s.includes(line), 10_000)
  await tui.keys("Enter")
}

const closeQuotaDialog = async (tui: Tui) => {
  await tui.keys("Escape")
  await tui.waitFor("the dialog to close", (s) => !s.includes("OpenAI quota"), 10_000)
}

/**
 * Stands between the plugin and the simulator's usage endpoint, holding one account's polls until the test
 * releases them: the only way to see the dialog while a poll is still out, without depending on timing.
 */
const usageGate = (sim: SimulatorHandle, heldAccount: string) => {
  let release: () => void = () => undefined
  const released = new Promise<void>((resolve) => {
    release = resolve
  })
  const polls = new Map<string, number>()
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      const account = request.headers.get("chatgpt-account-id") ?? "?"
      polls.set(account, (polls.get(account) ?? 0) + 1)
      if (account === heldAccount) await released
      const answer = await fetch(sim.usageEndpoint, { headers: request.headers })
      return new Response(await answer.text(), { status: answer.status, headers: answer.headers })
    },
  })
  return {
    url: `http://127.0.0.1:${server.port}/backend-api/wham/usage`,
    release,
    polls: (account: string) => polls.get(account) ?? 0,
    stop: () => server.stop(true),
  }
}

describe.skipIf(!tmuxAvailable())("the real OpenCode TUI with the plugin, through tmux", () => {
  test("/openai-quota polls every account from each way in; the sidebar; /openai-routing without a model call; the logging dialog reaches the server part", async () => {
    const sim = await startSimulator({ defaultText: ANSWER })
    const main = sim.addAccount({ accountId: "acct_tui_main", userId: "user_tui_main" })
    const fallback = sim.addAccount({ accountId: "acct_tui_fb", userId: "user_tui_fb" })
    const dead = sim.addAccount({ accountId: "acct_tui_dead", userId: "user_tui_dead" })
    sim.setQuota(main.accountId, { primaryUsedPercent: 42, secondaryUsedPercent: 17 })
    sim.setQuota(fallback.accountId, { primaryUsedPercent: 12, secondaryUsedPercent: 30 })
    // its access token expired and its refresh token was revoked: only a new login helps
    sim.scriptRefresh(dead.accountId, { kind: "invalidated" })
    const gate = usageGate(sim, fallback.accountId)
    try {
      using box = makeSandbox(sim, main, {
        CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: gate.url,
        // the level comes from the file (info by default), so the logging dialog decides it
        OPENCODE_OPENAI_AUTH_LOG_LEVEL: "",
      })
      // as `openai-auth login` leaves them: no quota reading, never served a request
      writeStore(box, {
        accounts: [
          storedAccount(fallback, { label: "backup" }),
          storedAccount(dead, { label: "old", expiresAt: Date.now() - 60_000 }),
        ],
      })
      const logFile = box.logFile
      configureTui(box)
      await using tui = await startTui(box, { columns: 160, rows: 48 })

      // the boot is mostly the host and the server plugin's import: ~15 s on a quiet machine, over 75 s seen
      // on two cores shared with other test runs
      const started = Date.now()
      const phases: Array<string> = []
      const phase = (name: string) => phases.push(`${name} ${((Date.now() - started) / 1000).toFixed(1)}s`)
      await tui.waitFor(
        "the home prompt",
        (s) => s.includes("Ask anything") && !s.includes("Finishing startup"),
        120_000,
      )
      await waitForPromptInput(tui)
      phase("booted")

      // 1. an argument form applies directly: store changed, toast shown, no model request. First, because every
      // store write takes the lock, and on a loaded disk (fsync seen taking 4.5 s) a write that lands while
      // another is still syncing waits long enough to time out
      const beforeRouting = modelRequests(sim)
      expect(readStore(box.storePath).routing ?? "main-first").toBe("main-first")
      await submit(tui, "/openai-routing fallback-first")
      const toast = await tui.waitFor(
        "the routing toast",
        (s) => s.includes("routing set to fallback-first") && !s.includes("/openai-routing fallback-first"),
        45_000,
      )
      check(readStore(box.storePath).routing === "fallback-first", "the store's routing is fallback-first", toast)
      check(
        modelRequestsMentioning(sim, "openai-routing") === 0 && modelRequests(sim) === beforeRouting,
        `no model request for /openai-routing (model requests before ${beforeRouting}, after ${modelRequests(sim)})`,
        toast,
      )
      phase("routing toast")

      // 2. /openai-quota: the dialog is there before the fallback's poll answers, and says it is refreshing
      const beforeQuota = modelRequests(sim)
      await submit(tui, "/openai-quota")
      const refreshing = await tui.waitFor(
        "the quota dialog while the fallback's poll is held",
        (s) => s.includes("OpenAI quota: refreshing") && /\bbackup \(plus\)\s+5h - · weekly - · refreshing…/.test(s),
        60_000,
      )
      check(
        !refreshing.includes("quota unknown"),
        "no account is shown as 'quota unknown' while it is polled",
        refreshing,
      )
      phase("dialog refreshing")
      gate.release()
      const filled = await tui.waitFor(
        "the fallback's real figures and the dead account's reason",
        (s) =>
          /OpenAI quota \(routing fallback-first/.test(s) &&
          /\bbackup \(plus\)\s+5h 12% \(resets in [^)]*\) · weekly 30%/.test(s) &&
          /\bmain \(plus\)\s+5h 42%/.test(s) &&
          /\bold \(plus\)\s+poll failed: needs re-login/.test(s),
        60_000,
      )
      check(filled.includes("1 of 3 polls failed"), "the title counts the failed poll", filled)
      check(modelRequests(sim) === beforeQuota, "no model request for /openai-quota", filled)
      expect([gate.polls(main.accountId), gate.polls(fallback.accountId)]).toEqual([1, 1])
      phase("dialog filled")
      await closeQuotaDialog(tui)

      // 3. the command palette's entry polls again: the fallback's usage moved on meanwhile
      sim.setQuota(fallback.accountId, { primaryUsedPercent: 55, secondaryUsedPercent: 31 })
      await tui.keys("C-p")
      await tui.waitFor("the command palette", (s) => s.includes("Commands"), 10_000)
      // a filter only our entry matches first (a looser one highlights another OpenAI entry)
      await tui.type("quota of every account")
      await tui.waitFor("our palette entry", (s) => s.includes("OpenAI: quota of every account"), 10_000)
      await tui.keys("Enter")
      await tui.waitFor(
        "the quota dialog from the palette with the new reading",
        (s) => /OpenAI quota \(routing fallback-first/.test(s) && /\bbackup \(plus\)\s+5h 55%/.test(s),
        60_000,
      )
      expect([gate.polls(main.accountId), gate.polls(fallback.accountId)]).toEqual([2, 2])
      phase("palette dialog")
      await closeQuotaDialog(tui)

      // 4. one answered prompt, served by the fallback (routing is fallback-first now); the quota headers of that
      // answer (figures no poll has seen) reach the sidebar
      sim.setQuota(fallback.accountId, { primaryUsedPercent: 61, secondaryUsedPercent: 33 })
      await tui.type("say hi")
      await tui.waitFor("the typed prompt", (s) => s.includes("say hi"), 10_000)
      await tui.keys("Enter")
      await tui.waitFor("the answer", (s) => s.includes(ANSWER), 60_000)
      phase("answer")
      // the server writes quota at most every 5 s and the sidebar re-reads on change (or every 3 s); on a busy
      // machine the server's store write has been seen to land 15-30 s after the answer
      const sidebar = await tui.waitFor(
        "the sidebar quota block",
        (s) => s.includes("ChatGPT quota: backup") && /5h 61% used/.test(s),
        60_000,
      )
      phase("sidebar")
      check(/weekly 33% used/.test(sidebar), "the sidebar shows the weekly window", sidebar)
      check(!logText(logFile).includes(" TRACE "), "the first request was logged at the default level", sidebar)

      // 5. the logging dialog, mid-session: the TUI writes the file, the server part follows it on its next request
      await submit(tui, "/openai-logging")
      await tui.waitFor("the logging dialog", (s) => s.includes("OpenAI log level"), 60_000)
      await tui.type("trace")
      // the filter in the search line and the one entry left under it
      await tui.waitFor("the list filtered to trace", (s) => (s.match(/^\s*trace\s*$/gm) ?? []).length >= 2, 10_000)
      await tui.keys("Enter")
      // the store write takes the lock: on a loaded disk (fsync seen taking 4.5 s) that can take a while
      await tui.waitFor("the logging toast", (s) => s.includes("log level set to trace"), 90_000)
      phase("logging dialog")
      sim.script(fallback.accountId, { reply: { text: "A second answer, logged at trace" } })
      await tui.type("once more")
      await tui.waitFor("the second prompt", (s) => s.includes("once more"), 10_000)
      await tui.keys("Enter")
      await tui.waitFor("the second answer", (s) => s.includes("A second answer, logged at trace"), 60_000)
      // the logger appends in the background: the request's trace lines follow its answer closely
      const traced = await waitFor(() => /\bTRACE answered \{/.test(logText(logFile)), 30_000)
      const log = logText(logFile)
      check(traced, "the next request was logged at trace", log)
      check(
        / INFO log level changed \{"level":"trace","from":"info"\}/.test(log),
        "the server part took the new level",
        log,
      )
      check(/ TRACE sending \{.*"authorization":"\[REDACTED\]"/.test(log), "wire detail, redacted", log)
      phase("second answer")
      console.log(`TUI e2e phases: ${phases.join(", ")}`)
    } finally {
      gate.release()
      gate.stop()
      await sim.stop()
    }
  }, 300_000)
})
