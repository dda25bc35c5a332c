/**
 * `bun run demo`: the plugin driving the simulator end to end, offline, with the real OpenCode binary.
 *
 * It starts the Codex simulator on 127.0.0.1, logs in a main account (as `/login openai` would leave it in
 * OpenCode's auth store), adds a fallback account with the `openai-auth` CLI's device-code login, then runs
 * a four-turn conversation through `opencode run` (continuing the same session):
 *
 * 1. the model calls the `read` tool; OpenCode runs it and the tool's output goes back to the model;
 * 2. a plain answer, mostly served from the prompt cache;
 * 3. the main account hits its usage limit: the plugin retries the same request on the fallback;
 * 4. the fallback keeps serving.
 *
 * Every line about what happened on the wire is read from what the simulator received, and the fallback
 * line also from the plugin's own log. The run ends with `openai-auth quota`, which polls every account.
 */
import { existsSync, readFileSync } from "node:fs"
import type { SimRequest } from "@cortexkit/openai-auth-testkit/Simulator"
import { startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { makeSandbox } from "../packages/opencode/test/e2e/harness.ts"

const LIMIT_RESETS_IN_S = 5 * 3600

const sim = await startSimulator({ defaultText: "Done." })
const main = sim.addAccount({ accountId: "acct_demo_main", userId: "user_demo_main", email: "main@example.com" })
const fallback = sim.addAccount({ accountId: "acct_demo_work", userId: "user_demo_work", email: "work@example.com" })
// what the backend reports for each account before the demo starts: both have been used this week
sim.setQuota(main.accountId, { primaryUsedPercent: 71, secondaryUsedPercent: 34 })
sim.setQuota(fallback.accountId, { primaryUsedPercent: 12, secondaryUsedPercent: 20 })
const box = makeSandbox(sim, main, { OPENCODE_OPENAI_AUTH_LOG_LEVEL: "info" })
const env = { OPENCODE_OPENAI_AUTH_FILE: box.storePath }
const cliPath = `${import.meta.dir}/../packages/opencode/src/cli.ts`
const cli = async (...args: Array<string>) => {
  const proc = Bun.spawn(["bun", cliPath, ...args], { env: { ...box.env, ...env }, stdout: "pipe", stderr: "pipe" })
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  if (code !== 0) throw new Error(`openai-auth ${args.join(" ")} failed (${code}): ${err.trim()}`)
  return out
}

const accountName = (id: string | undefined) =>
  id === main.accountId ? "main" : id === fallback.accountId ? "work (fallback)" : String(id)

type Item = { readonly type?: string; readonly name?: string; readonly arguments?: string; readonly output?: unknown }
const inputOf = (r: SimRequest): ReadonlyArray<Item> => {
  const input = (r.body as { input?: unknown } | undefined)?.input
  return Array.isArray(input) ? (input as ReadonlyArray<Item>) : []
}

const codexRequests = (from: number) =>
  sim.requests.slice(from).filter((r) => r.path.endsWith("/codex/responses") && r.method === "POST")

const logLines = () => (existsSync(box.logFile) ? readFileSync(box.logFile, "utf8").split("\n").filter(Boolean) : [])

const short = (text: string, max = 70) => (text.length <= max ? text : `${text.slice(0, max - 1)}…`)

/** What the backend received during one turn, request by request, in the words a user cares about. */
const describeTurn = (requests: ReadonlyArray<SimRequest>, toolsSeen: Set<string>) => {
  for (const r of requests) {
    for (const item of inputOf(r)) {
      // OpenCode sends the whole conversation each time: report a tool call and its result once
      if (item.type === "function_call" && !toolsSeen.has(`call:${item.arguments}`)) {
        toolsSeen.add(`call:${item.arguments}`)
        console.log(`  tool call: the model called ${item.name}(${short(item.arguments ?? "")})`)
      }
      if (item.type === "function_call_output") {
        const output = typeof item.output === "string" ? item.output : JSON.stringify(item.output)
        if (!toolsSeen.has(`output:${output}`)) {
          toolsSeen.add(`output:${output}`)
          console.log(`  tool result: OpenCode ran it and sent its output back to the model (${output.length} chars)`)
        }
      }
    }
    if (r.status === 429) {
      console.log(
        `  usage limit: ${accountName(r.accountId)} answered 429 usage_limit_reached; the plugin falls back to the next account`,
      )
      continue
    }
    if (r.status !== 200) {
      console.log(`  ${accountName(r.accountId)} answered ${r.status}`)
      continue
    }
    const usage = r.usage
    const ratio =
      usage === undefined || usage.input_tokens === 0
        ? 0
        : usage.input_tokens_details.cached_tokens / usage.input_tokens
    console.log(
      `  served by ${accountName(r.accountId)}: ${usage?.input_tokens ?? 0} input tokens, ${(ratio * 100).toFixed(0)}% from cache`,
    )
  }
}

try {
  console.log(`Codex simulator on ${sim.url}; OpenCode sandbox in ${box.root}\n`)
  sim.setDevice({ interval: "0", approveAfterPolls: 1 })
  sim.nextLogin(fallback.accountId)
  console.log("$ openai-auth login --headless --label work")
  console.log((await cli("login", "--headless", "--label", "work")).trim().replace(/^/gm, "  "))

  const turns: Array<{ prompt: string; script?: () => void }> = [
    {
      prompt: "Read README.md and tell me what this project is.",
      script: () => {
        sim.script(main.accountId, {
          reply: { toolCalls: [{ name: "read", arguments: { filePath: `${box.project}/README.md` } }] },
        })
        sim.script(main.accountId, { reply: { text: "It is a tiny demo project with a README.", chunks: 6 } })
      },
    },
    {
      prompt: "Summarise that in five words.",
      script: () => sim.script(main.accountId, { reply: { text: "Tiny demo project, one README." } }),
    },
    {
      prompt: "Now suggest a better title.",
      script: () => {
        sim.script(main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: LIMIT_RESETS_IN_S } })
        // the backend's usage endpoint then reports the window it refused on as used up
        sim.setQuota(main.accountId, { primaryUsedPercent: 100, primaryResetAfterSeconds: LIMIT_RESETS_IN_S })
        sim.script(fallback.accountId, { reply: { text: "Plugin Demo: One README, Many Accounts." } })
      },
    },
    {
      prompt: "And a one-line description?",
      script: () => sim.script(fallback.accountId, { reply: { text: "A tiny project showing the plugin at work." } }),
    },
  ]
  await Bun.write(`${box.project}/README.md`, "# demo\nA tiny project for the plugin demo.\n")
  const toolsSeen = new Set<string>()
  for (const [i, turn] of turns.entries()) {
    turn.script?.()
    const before = sim.requests.length
    const logBefore = logLines().length
    // the first turn names the session: otherwise OpenCode asks the model for a title, in a request of its
    // own that would take the answer scripted for the turn
    const session = i === 0 ? ["--title", "Plugin demo"] : ["--continue"]
    const result = await box.run(["run", "--model", "openai/gpt-5.5", ...session, turn.prompt], env)
    console.log(`\nTurn ${i + 1}: ${turn.prompt}`)
    describeTurn(codexRequests(before), toolsSeen)
    for (const line of logLines().slice(logBefore)) {
      if (line.includes("request served after retries")) console.log(`  plugin log: ${line.replace(/^\S+ /, "")}`)
    }
    console.log(`  answer: ${result.stdout.trim().split("\n").filter(Boolean).join(" / ") || "(none)"}`)
    if (result.code !== 0)
      console.log(`  opencode exited ${result.code}: ${result.stderr.trim().split("\n").slice(-2).join(" ")}`)
  }
  console.log("\n$ openai-auth quota")
  console.log((await cli("quota")).trim().replace(/^/gm, "  "))
} finally {
  box[Symbol.dispose]()
  await sim.stop()
}
