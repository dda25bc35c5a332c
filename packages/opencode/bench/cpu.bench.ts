/**
 * CPU time per request: `process.cpuUsage()` (user + system) around one whole request, from the call to the
 * end of the body, the plugin `fetch` against a bare `fetch` of the same pre-rewritten bytes, interleaved
 * pair by pair in one process, with the simulator in its own process so that its work is not counted. The
 * bodies are next turns of a session (the plugin saw the previous turn), 10 KB and 1 MB, and the reply is the
 * simulator's short default answer. This is what saturates the machine in the 4-process scale bench.
 *
 * Two ratios carry the target: the means (every microsecond either side spent, garbage collection included,
 * though a collection lands in whichever request happens to trigger it, so the means pull toward 1) and the
 * medians (the typical request, which no collection interrupts).
 */
import { atMost, type Bench, figure, median } from "@cortexkit/openai-auth-testkit/Bench"
import { drain, sessionKey, turnBodies } from "./support/plugin.ts"
import { pluginOnSimProcess } from "./support/simProcess.ts"

const HOST_URL = "https://api.openai.com/v1/responses"

const cases = [
  { key: "10kb", label: "10 KB", size: 10_000, pairs: 400, target: atMost(3) },
  { key: "1mb", label: "1 MB", size: 1_000_000, pairs: 100, target: undefined },
]

const cpuOf = async (send: () => Promise<Response>): Promise<number> => {
  const before = process.cpuUsage()
  const response = await send()
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  await drain(response)
  const used = process.cpuUsage(before)
  return (used.user + used.system) / 1000
}

const bench: Bench = async () => {
  const { sim, main, plugin, close } = await pluginOnSimProcess()
  const figures = []
  let n = 0
  try {
    for (const c of cases) {
      const b = turnBodies(c.size, "continuation", main, sim.codexEndpoint)
      const pairs = async (count: number) => {
        const bare: Array<number> = []
        const viaPlugin: Array<number> = []
        for (let i = 0; i < count; i++) {
          const turn = n++
          const host = b.host(sessionKey(2 * turn + 1), turn)
          const wire = b.bare(sessionKey(2 * turn), turn)
          const p = () =>
            cpuOf(() => plugin.fetch(HOST_URL, { method: "POST", headers: host.headers, body: host.body }))
          const f = () =>
            cpuOf(() => fetch(sim.codexEndpoint, { method: "POST", headers: wire.headers, body: wire.body }))
          if (i % 2 === 0) {
            bare.push(await f())
            viaPlugin.push(await p())
          } else {
            viaPlugin.push(await p())
            bare.push(await f())
          }
        }
        return { bare, viaPlugin }
      }
      await pairs(Math.ceil(c.pairs / 4))
      const { bare, viaPlugin } = await pairs(c.pairs)
      const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, x) => a + x, 0) / xs.length
      figures.push(
        figure(`bare_${c.key}_ms`, `bare fetch CPU per request, ${c.label} next turn (mean)`, mean(bare), "ms"),
        figure(`plugin_${c.key}_ms`, `plugin CPU per request, ${c.label} next turn (mean)`, mean(viaPlugin), "ms"),
        figure(
          `ratio_${c.key}`,
          `plugin / bare CPU per request, ${c.label} next turn (means of ${c.pairs} pairs)`,
          mean(viaPlugin) / mean(bare),
          "x",
          c.target,
        ),
        figure(`bare_median_${c.key}_ms`, `bare fetch CPU per request, ${c.label} (median)`, median(bare), "ms"),
        figure(`plugin_median_${c.key}_ms`, `plugin CPU per request, ${c.label} (median)`, median(viaPlugin), "ms"),
        figure(
          `ratio_median_${c.key}`,
          `plugin / bare CPU per request, ${c.label} next turn (medians: the typical request, no collection in it)`,
          median(viaPlugin) / median(bare),
          "x",
          c.target,
        ),
      )
    }
  } finally {
    await close()
  }
  return { name: "cpu", figures }
}

export default bench
