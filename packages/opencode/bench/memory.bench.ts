/**
 * Steady memory: 1,000 streamed requests through the plugin fetch in one fresh process (20 rotating
 * sessions, each reply a 200-delta stream). RSS and JS heap after a full GC, at every tenth of the run; the
 * first tenth is the warm-up. Growth is the end minus the warm-up reading; a slope over the checkpoints after
 * warm-up tells a leak (steady climb) from noise. A second run sends 100 KB next-turn bodies (each the
 * conversation plus a new message), the path through the body memo and the reused item bytes.
 */
import { join } from "node:path"
import { atMost, type Bench, figure } from "@cortexkit/openai-auth-testkit/Bench"
import { makeSandbox } from "./support/plugin.ts"
import { startSimProcess } from "./support/simProcess.ts"

const CHILD = join(import.meta.dir, "support/memoryChild.ts")
const REQUESTS = 1000

interface Point {
  readonly done: number
  readonly rss: number
  readonly heap: number
  readonly objects: number
}

/** least-squares slope of y over x */
const slope = (xs: ReadonlyArray<number>, ys: ReadonlyArray<number>) => {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num += ((xs[i] ?? 0) - mx) * ((ys[i] ?? 0) - my)
    den += ((xs[i] ?? 0) - mx) ** 2
  }
  return den === 0 ? 0 : num / den
}

const bench: Bench = async () => {
  const sim = await startSimProcess(["acct_main"])
  const main = sim.accounts[0]
  if (main === undefined) throw new Error("no simulator account")
  const box = makeSandbox(sim)
  const run = async (size: number): Promise<Array<Point>> => {
    await sim.script(main.accountId, ...Array.from({ length: REQUESTS }, () => ({ reply: { deltas: 200 } })))
    const proc = Bun.spawn(["bun", CHILD, sim.url, JSON.stringify(main), String(REQUESTS), String(size)], {
      env: { ...process.env, ...box.env },
      stdout: "pipe",
      stderr: "pipe",
    })
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    if (code !== 0) throw new Error(`memory child exited ${code}: ${err.trim()}`)
    return JSON.parse(out.trim().split("\n").at(-1) ?? "[]") as Array<Point>
  }
  let points: Array<Point>
  let large: Array<Point>
  try {
    points = await run(10_000)
    large = await run(100_000)
  } finally {
    await sim.stop()
    box.dispose()
  }
  const warm = points[0]
  const end = points.at(-1)
  if (warm === undefined || end === undefined) throw new Error("no checkpoints")
  const mb = (bytes: number) => bytes / (1024 * 1024)
  const largeWarm = large[0]
  const largeEnd = large.at(-1)
  if (largeWarm === undefined || largeEnd === undefined) throw new Error("no checkpoints (100 KB run)")
  const after = points.slice(1)
  const xs = after.map((p) => p.done)
  const heapSlope = slope(
    xs,
    after.map((p) => p.heap),
  )
  const rssSlope = slope(
    xs,
    after.map((p) => p.rss),
  )
  return {
    name: "memory",
    figures: [
      figure("rss_warm_mb", `RSS after ${warm.done} requests (warm-up)`, mb(warm.rss), "MB"),
      figure("rss_end_mb", `RSS after ${end.done} requests`, mb(end.rss), "MB"),
      figure("rss_growth_mb", "RSS growth, warm-up to end", mb(end.rss - warm.rss), "MB"),
      figure("rss_slope_kb_per_100", "RSS slope after warm-up", (rssSlope * 100) / 1024, "KB/100 req"),
      figure("heap_warm_mb", "JS heap after warm-up", mb(warm.heap), "MB"),
      figure("heap_growth_mb", "JS heap growth, warm-up to end", mb(end.heap - warm.heap), "MB", atMost(1)),
      figure("heap_slope_kb_per_100", "JS heap slope after warm-up", (heapSlope * 100) / 1024, "KB/100 req"),
      figure("objects_growth", "live objects growth, warm-up to end", end.objects - warm.objects, "objects"),
      figure("large_heap_warm_mb", "100 KB next turns: JS heap after warm-up", mb(largeWarm.heap), "MB"),
      figure(
        "large_heap_growth_mb",
        "100 KB next turns: JS heap growth, warm-up to end",
        mb(largeEnd.heap - largeWarm.heap),
        "MB",
        atMost(1),
      ),
      figure(
        "large_rss_growth_mb",
        "100 KB next turns: RSS growth, warm-up to end",
        mb(largeEnd.rss - largeWarm.rss),
        "MB",
      ),
    ],
    notes: [
      `checkpoints (requests: heap MB / RSS MB): ${points
        .map((p) => `${p.done}: ${mb(p.heap).toFixed(1)}/${mb(p.rss).toFixed(0)}`)
        .join(", ")}`,
      `100 KB next turns: ${large.map((p) => `${p.done}: ${mb(p.heap).toFixed(1)}/${mb(p.rss).toFixed(0)}`).join(", ")}`,
    ],
  }
}

export default bench
