import { buildPlugin, drain, makeSandbox, sessionKey, turnBodies, withEnv } from "./plugin.ts"
import { startSimProcess } from "./simProcess.ts"
const sim = await startSimProcess(["acct_main"])
const main = sim.accounts[0]!
const box = makeSandbox(sim)
withEnv(box.env)
const plugin = await buildPlugin(main)
const b = turnBodies(10_000, "continuation", main, sim.codexEndpoint)
const N = Number(process.argv[2] ?? 3000)
const mode = process.argv[3] ?? "plugin"
const t0 = performance.now(); const c0 = process.cpuUsage()
for (let i = 0; i < N; i++) {
  const host = b.host(sessionKey(i), i)
  if (mode === "plugin") await drain(await plugin.fetch("https://api.openai.com/v1/responses", { method: "POST", headers: host.headers, body: host.body }))
  else { const w = b.bare(sessionKey(i), i); const c1 = process.cpuUsage(); await drain(await fetch(sim.codexEndpoint, { method: "POST", headers: w.headers, body: w.body })) }
}
const c = process.cpuUsage(c0)
console.log(mode, "per request cpu ms", (c.user + c.system) / 1000 / N, "wall", (performance.now() - t0) / N)
await plugin.dispose(); await sim.stop(); box.dispose(); process.exit(0)
