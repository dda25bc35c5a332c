/**
 * `bun run demo`: the plugin driving the simulator end to end, offline, with the real OpenCode binary.
 *
 * It starts the Codex simulator on 127.0.0.1, logs in a main account (as `/login openai` would leave it in
 * OpenCode's auth store), adds a fallback account with the `openai-auth` CLI's device-code login, then runs
 * a multi-turn conversation through `opencode run` (continuing the same session). The main account hits its
 * usage limit half-way; the plugin falls back. Each turn prints the answer, the account that served it and
 * the share of the prompt the backend served from its cache; the final quota comes from `openai-auth quota`.
 */
import { startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { makeSandbox } from "../packages/opencode/test/e2e/harness.ts"

const sim = await startSimulator({ defaultText: "Done." })
const main = sim.addAccount({ accountId: "acct_demo_main", userId: "user_demo_main", email: "main@example.com" })
const fallback = sim.addAccount({ accountId: "acct_demo_work", userId: "user_demo_work", email: "work@example.com" })
const box = makeSandbox(sim, main)
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
      script: () => sim.script(main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 5 * 3600 } }),
    },
    { prompt: "And a one-line description?" },
  ]
  await Bun.write(`${box.project}/README.md`, "# demo\nA tiny project for the plugin demo.\n")
  for (const [i, turn] of turns.entries()) {
    turn.script?.()
    const before = sim.requests.length
    const args = ["run", "--model", "openai/gpt-5.5", ...(i > 0 ? ["--continue"] : []), turn.prompt]
    const result = await box.run(args, env)
    const served = sim.requests.slice(before).filter((r) => r.path.endsWith("/codex/responses") && r.status === 200)
    const mainTurn = served.filter((r) => Array.isArray((r.body as { tools?: unknown }).tools))
    console.log(`\nTurn ${i + 1}: ${turn.prompt}`)
    console.log(`  answer:  ${result.stdout.trim().split("\n").filter(Boolean).join(" / ") || "(none)"}`)
    for (const r of mainTurn) {
      const usage = r.usage
      const ratio =
        usage === undefined || usage.input_tokens === 0
          ? 0
          : usage.input_tokens_details.cached_tokens / usage.input_tokens
      console.log(
        `  served by ${accountName(r.accountId)}: ${usage?.input_tokens ?? 0} input tokens, ${(ratio * 100).toFixed(0)}% from cache`,
      )
    }
    if (result.code !== 0)
      console.log(`  opencode exited ${result.code}: ${result.stderr.trim().split("\n").slice(-2).join(" ")}`)
  }
  console.log("\n$ openai-auth quota")
  console.log((await cli("quota")).trim().replace(/^/gm, "  "))
} finally {
  box[Symbol.dispose]()
  await sim.stop()
}
