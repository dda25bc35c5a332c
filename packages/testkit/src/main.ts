/**
 * Standalone simulator: `bun packages/testkit/src/main.ts [--port N] [--account acct_a ...]`.
 * Prints the URL on the first stdout line so a parent process can read it, then serves until SIGINT/SIGTERM.
 * Control it over `/__sim/*` (see SimAdmin.ts).
 */
import { startSimulator } from "./Simulator.ts"

const args = process.argv.slice(2)
const valuesOf = (flag: string) =>
  args.flatMap((arg, i) => (arg === flag && args[i + 1] ? [args[i + 1] as string] : []))
const port = Number(valuesOf("--port")[0] ?? "0")

const sim = await startSimulator({ port: Number.isFinite(port) ? port : 0 })
for (const accountId of valuesOf("--account")) sim.addAccount({ accountId })
console.log(sim.url)

const shutdown = () => {
  void sim.stop().then(() => process.exit(0))
}
process.on("SIGINT", shutdown)
process.on("SIGTERM", shutdown)
