/**
 * The whole plugin `fetch` (settings, selection, credentials, rewrite, stabilizer, transport, observer) as
 * OpenCode builds it, against a bare `fetch` of the same pre-rewritten bytes to the same simulator, for
 * OpenCode-shaped 10 KB, 100 KB and 1 MB bodies. Pairs run interleaved (order alternating), every request
 * with its own session key so the simulator's prompt-cache bookkeeping costs both sides the same.
 *
 * Added time to first byte: median of the per-pair differences. Throughput: a 10,000-delta scripted reply
 * (~2 MB of SSE) drained end to end, ratio = bare median time / plugin median time.
 */
import { atLeast, atMost, type Bench, figure, median } from "@cortexkit/openai-auth-testkit/Bench"
import { bodies, buildPlugin, makeSandbox, sessionKey, type Timing, timeRequest, withEnv } from "./support/plugin.ts"
import { startSimProcess } from "./support/simProcess.ts"

const HOST_URL = "https://api.openai.com/v1/responses"

const cases = [
  { key: "10kb", label: "10 KB", size: 10_000, ttfb: 150, stream: 30 },
  { key: "100kb", label: "100 KB", size: 100_000, ttfb: 100, stream: 20 },
  { key: "1mb", label: "1 MB", size: 1_000_000, ttfb: 40, stream: 12 },
]

const bench: Bench = async () => {
  const sim = await startSimProcess(["acct_main"])
  const main = sim.accounts[0]
  if (main === undefined) throw new Error("no simulator account")
  const box = makeSandbox(sim)
  const restore = withEnv(box.env)
  const plugin = await buildPlugin(main)
  const figures = []
  const notes: Array<string> = []
  let n = 0
  try {
    for (const c of cases) {
      const b = bodies(c.size, main, sim.codexEndpoint)
      const viaPlugin = (key: string) => {
        const host = b.host(key)
        return timeRequest(() => plugin.fetch(HOST_URL, { method: "POST", headers: host.headers, body: host.body }))
      }
      const bare = (key: string) => {
        const wire = b.bare(key)
        return timeRequest(() => fetch(sim.codexEndpoint, { method: "POST", headers: wire.headers, body: wire.body }))
      }
      const pairs = async (count: number, before?: () => Promise<void>) => {
        const out: Array<{ bare: Timing; plugin: Timing }> = []
        for (let i = 0; i < count; i++) {
          await before?.()
          const a = sessionKey(n++)
          const p = sessionKey(n++)
          if (i % 2 === 0) {
            const bt = await bare(a)
            await before?.()
            out.push({ bare: bt, plugin: await viaPlugin(p) })
          } else {
            const pt = await viaPlugin(p)
            await before?.()
            out.push({ bare: await bare(a), plugin: pt })
          }
        }
        return out
      }
      await pairs(Math.ceil(c.ttfb / 5))
      const ttfb = await pairs(c.ttfb)
      const added = median(ttfb.map((t) => t.plugin.firstByte - t.bare.firstByte))
      const script = () => sim.script(main.accountId, { reply: { deltas: 10_000 } })
      await pairs(2, script)
      const stream = await pairs(c.stream, script)
      const bareTotal = median(stream.map((t) => t.bare.total))
      const pluginTotal = median(stream.map((t) => t.plugin.total))
      const streamBytes = median(stream.map((t) => t.plugin.bytes))
      // throughput is bytes over the time they take to flow: from the first byte to the end; the time to the
      // first byte is its own figure above (ttfb_added)
      const bareFlow = median(stream.map((t) => t.bare.total - t.bare.firstByte))
      const pluginFlow = median(stream.map((t) => t.plugin.total - t.plugin.firstByte))
      figures.push(
        figure(
          `ttfb_bare_${c.key}_ms`,
          `bare first byte, ${c.label} (median)`,
          median(ttfb.map((t) => t.bare.firstByte)),
          "ms",
        ),
        figure(
          `ttfb_plugin_${c.key}_ms`,
          `plugin first byte, ${c.label} (median)`,
          median(ttfb.map((t) => t.plugin.firstByte)),
          "ms",
        ),
        figure(`ttfb_added_${c.key}_ms`, `added first byte, ${c.label} (median of pairs)`, added, "ms", atMost(1)),
        figure(`stream_bare_${c.key}_ms`, `bare 10k-delta stream, ${c.label} (median)`, bareTotal, "ms"),
        figure(`stream_plugin_${c.key}_ms`, `plugin 10k-delta stream, ${c.label} (median)`, pluginTotal, "ms"),
        figure(
          `stream_ratio_${c.key}`,
          `throughput plugin / bare (first byte to end), ${c.label}`,
          bareFlow / pluginFlow,
          "x",
          atLeast(0.9),
        ),
        figure(
          `stream_total_ratio_${c.key}`,
          `whole-request time bare / plugin, ${c.label}`,
          bareTotal / pluginTotal,
          "x",
        ),
      )
      notes.push(
        `${c.label}: host body ${b.bytes} B; ${c.ttfb} first-byte pairs, ${c.stream} stream pairs of ${streamBytes} B`,
      )
    }
  } finally {
    await plugin.dispose()
    restore()
    await sim.stop()
    box.dispose()
  }
  return { name: "request-path", figures, notes }
}

export default bench
