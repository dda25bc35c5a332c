/**
 * The whole plugin `fetch` (settings, selection, credentials, rewrite, stabilizer, transport, observer) as
 * OpenCode builds it, against a bare `fetch` of the same pre-rewritten bytes to the same simulator, for
 * OpenCode-shaped 10 KB, 100 KB and 1 MB bodies. Pairs run interleaved (order alternating), every request
 * with its own session key so the simulator's prompt-cache bookkeeping costs both sides the same.
 *
 * Every body is one more turn of a long conversation: its own new user message after the shared history.
 * "Continuation" turns are what a session sends after its first turn (the plugin saw the previous one);
 * "cold" turns share nothing with anything the plugin saw, like the first request after a restart.
 *
 * Added latency: median of the per-pair differences in the time to the first output event (the first text
 * delta), the first thing a host can show. That, not the first byte, is what the two sides have in common:
 * the plugin holds `response.created` back until the first output (the commit point that makes falling
 * back to another account safe), so its first byte is that output, while a bare fetch's first byte is
 * `response.created`; against a real backend the gap between them is the model's time to first token, which
 * would swamp the figure. The first-byte difference is reported beside it.
 * Throughput: a 10,000-delta scripted reply (~2 MB of SSE) drained end to end, ratio = bare median time /
 * plugin median time, both windows timed from the same event: the chunk carrying the first output event (the
 * first `response.output_text.delta`) to the end of the body. The first byte is not that event for both
 * sides (the bare fetch's first byte is `response.created`, the plugin's is the first output), so a window
 * from each side's first byte would compare different spans. The whole-request ratio (call to end, the
 * time to the first output included) is reported beside it with the same target.
 */
import { atLeast, atMost, type Bench, figure, median } from "@cortexkit/openai-auth-testkit/Bench"
import { sessionKey, type Timing, timeRequest, turnBodies } from "./support/plugin.ts"
import { pluginOnSimProcess } from "./support/simProcess.ts"

const HOST_URL = "https://api.openai.com/v1/responses"

const cases = [
  { key: "10kb", label: "10 KB", size: 10_000, ttfb: 150, cold: 60, stream: 100 },
  { key: "100kb", label: "100 KB", size: 100_000, ttfb: 120, cold: 40, stream: 80 },
  { key: "1mb", label: "1 MB", size: 1_000_000, ttfb: 100, cold: 30, stream: 40 },
]

const bench: Bench = async () => {
  const { sim, main, plugin, close } = await pluginOnSimProcess()
  const figures = []
  const notes: Array<string> = []
  let n = 0
  try {
    for (const c of cases) {
      const pairs = async (
        kind: "continuation" | "cold",
        count: number,
        before?: () => Promise<void>,
      ): Promise<Array<{ bare: Timing; plugin: Timing }>> => {
        const b = turnBodies(c.size, kind, main, sim.codexEndpoint)
        const out: Array<{ bare: Timing; plugin: Timing }> = []
        for (let i = 0; i < count; i++) {
          const turn = n++
          const host = b.host(sessionKey(2 * turn + 1), turn)
          const wire = b.bare(sessionKey(2 * turn), turn)
          const viaPlugin = () =>
            timeRequest(() => plugin.fetch(HOST_URL, { method: "POST", headers: host.headers, body: host.body }))
          const bare = () =>
            timeRequest(() => fetch(sim.codexEndpoint, { method: "POST", headers: wire.headers, body: wire.body }))
          await before?.()
          if (i % 2 === 0) {
            const bt = await bare()
            await before?.()
            out.push({ bare: bt, plugin: await viaPlugin() })
          } else {
            const pt = await viaPlugin()
            await before?.()
            out.push({ bare: await bare(), plugin: pt })
          }
        }
        return out
      }
      await pairs("continuation", Math.ceil(c.ttfb / 5))
      const ttfb = await pairs("continuation", c.ttfb)
      const outputAt = (t: Timing) => {
        if (t.firstOutput === undefined) throw new Error("a reply without an output event")
        return t.firstOutput
      }
      const added = median(ttfb.map((t) => outputAt(t.plugin) - outputAt(t.bare)))
      const addedFirstByte = median(ttfb.map((t) => t.plugin.firstByte - t.bare.firstByte))
      const cold = await pairs("cold", c.cold)
      const coldAdded = median(cold.map((t) => outputAt(t.plugin) - outputAt(t.bare)))
      const script = () => sim.script(main.accountId, { reply: { deltas: 10_000 } })
      await pairs("continuation", 2, script)
      const stream = await pairs("continuation", c.stream, script)
      const bareTotal = median(stream.map((t) => t.bare.total))
      const pluginTotal = median(stream.map((t) => t.plugin.total))
      const streamBytes = median(stream.map((t) => t.plugin.bytes))
      // throughput is bytes over the time they take to flow, both sides from the same event (the chunk that
      // carries the first output event) to the end; the time to that event is its own figure above
      const bareFlow = median(stream.map((t) => t.bare.total - outputAt(t.bare)))
      const pluginFlow = median(stream.map((t) => t.plugin.total - outputAt(t.plugin)))
      figures.push(
        figure(
          `first_output_bare_${c.key}_ms`,
          `bare first output event, ${c.label} (median)`,
          median(ttfb.map((t) => outputAt(t.bare))),
          "ms",
        ),
        figure(
          `first_output_plugin_${c.key}_ms`,
          `plugin first output event, ${c.label} (median)`,
          median(ttfb.map((t) => outputAt(t.plugin))),
          "ms",
        ),
        figure(
          `first_output_added_${c.key}_ms`,
          `added latency to first output, ${c.label}, next turn of a session (median of pairs)`,
          added,
          "ms",
          atMost(1),
        ),
        figure(
          `first_output_added_cold_${c.key}_ms`,
          `added latency to first output, ${c.label}, cold: a body never seen (median of pairs)`,
          coldAdded,
          "ms",
        ),
        figure(
          `ttfb_added_${c.key}_ms`,
          `added time to first byte, ${c.label}, next turn (plugin: the output; bare: response.created)`,
          addedFirstByte,
          "ms",
        ),
        figure(`stream_bare_${c.key}_ms`, `bare 10k-delta stream, ${c.label} (median)`, bareTotal, "ms"),
        figure(`stream_plugin_${c.key}_ms`, `plugin 10k-delta stream, ${c.label} (median)`, pluginTotal, "ms"),
        figure(
          `stream_ratio_${c.key}`,
          `throughput plugin / bare (first output event to end), ${c.label}`,
          bareFlow / pluginFlow,
          "x",
          atLeast(0.9),
        ),
        figure(
          `stream_total_ratio_${c.key}`,
          `whole-request time bare / plugin, ${c.label}`,
          bareTotal / pluginTotal,
          "x",
          atLeast(0.9),
        ),
      )
      notes.push(
        `${c.label}: host body ${turnBodies(c.size, "continuation", main, sim.codexEndpoint).bytes} B; ${c.ttfb} next-turn and ${c.cold} cold first-byte pairs, ${c.stream} stream pairs of ${streamBytes} B`,
      )
    }
  } finally {
    await close()
  }
  return { name: "request-path", figures, notes }
}

export default bench
