/**
 * One of the scale bench's worker processes: `bun scaleWorker.ts bare|plugin <codexEndpoint> <accountsJson>
 * <sessions> <perSession> <tag>`, env set by the parent (all workers share one store). Warms up (two
 * unmeasured requests per session), prints "ready" and waits for "go" on stdin so that all workers start
 * together (the parent scripts the accounts in between), runs the load, disposes the plugin (which flushes
 * its quota readings into the store) and prints one JSON line.
 */
import type { SimAccount } from "@cortexkit/openai-auth-testkit/Simulator"
import { runLoad } from "./load.ts"
import { buildPlugin } from "./plugin.ts"

const [mode, codexEndpoint, accountsJson, sessions, perSession, tag] = process.argv.slice(2)
const accounts = JSON.parse(accountsJson ?? "[]") as Array<SimAccount>
const main = accounts[0] as SimAccount
const plugin = mode === "plugin" ? await buildPlugin(main) : undefined
// unmeasured: connections, JIT and the lazily built runtime are not what the p99 is about
await runLoad({
  mode: mode === "plugin" ? "plugin" : "bare",
  ...(plugin === undefined ? {} : { fetch: plugin.fetch }),
  accounts,
  codexEndpoint: codexEndpoint ?? "",
  sessions: Number(sessions),
  perSession: 2,
  tag: Number(tag) + 50,
})
console.log("ready")
for await (const line of console) if (line.trim() === "go") break
const result = await runLoad({
  mode: mode === "plugin" ? "plugin" : "bare",
  ...(plugin === undefined ? {} : { fetch: plugin.fetch }),
  accounts,
  codexEndpoint: codexEndpoint ?? "",
  sessions: Number(sessions),
  perSession: Number(perSession),
  tag: Number(tag),
})
await plugin?.dispose()
console.log(JSON.stringify(result))
process.exit(0)
