/**
 * Plugin start, in fresh `bun` processes, interleaved: one imports the server entry, calls `server(input)` and
 * the auth loader as OpenCode does and serves its first request (the runtime's layers are built on first
 * use); the other imports an empty module and makes the same first request with a bare `fetch`. The added
 * time and resident memory are the medians of the differences over several runs. A third process loads a
 * `bun build` bundle of the same entry: what shipping one file (tree-shaken) instead of sources would give.
 */
import { join } from "node:path"
import { atMost, type Bench, figure, median } from "@cortexkit/openai-auth-testkit/Bench"
import { makeSandbox } from "./support/plugin.ts"
import { startSimProcess } from "./support/simProcess.ts"

const CHILD = join(import.meta.dir, "support/startChild.ts")
const RUNS = 7

interface ChildResult {
  readonly imported: number
  readonly ready: number
  readonly first: number
  readonly rss: number
}

const bench: Bench = async () => {
  const sim = await startSimProcess(["acct_main"])
  const main = sim.accounts[0]
  if (main === undefined) throw new Error("no simulator account")
  const box = makeSandbox(sim)
  // What a bundled release would load: the same entry through `bun build` (tree-shaken, one file).
  const built = await Bun.build({
    entrypoints: [join(import.meta.dir, "../src/server.ts")],
    outdir: join(box.dir, "bundle"),
    target: "bun",
    external: ["@opencode-ai/plugin"],
  })
  const bundlePath = built.outputs[0]?.path ?? ""
  const run = async (mode: "empty" | "plugin" | "bundle"): Promise<ChildResult> => {
    const proc = Bun.spawn(["bun", CHILD, mode, sim.url, JSON.stringify(main), bundlePath], {
      env: { ...process.env, ...box.env },
      stdout: "pipe",
      stderr: "pipe",
    })
    const [out, err, code] = await Promise.all([
      new Response(proc.stdout).text(),
      new Response(proc.stderr).text(),
      proc.exited,
    ])
    if (code !== 0) throw new Error(`start child (${mode}) exited ${code}: ${err.trim()}`)
    return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as ChildResult
  }
  const pairs: Array<{ empty: ChildResult; plugin: ChildResult; bundle: ChildResult }> = []
  try {
    await run("plugin")
    await run("bundle")
    await run("empty")
    for (let i = 0; i < RUNS; i++) {
      const order = (["empty", "plugin", "bundle"] as const).map((_, k, all) => all[(i + k) % 3] ?? "empty")
      const got: Partial<Record<"empty" | "plugin" | "bundle", ChildResult>> = {}
      for (const mode of order) got[mode] = await run(mode)
      pairs.push(got as { empty: ChildResult; plugin: ChildResult; bundle: ChildResult })
    }
  } finally {
    await sim.stop()
    box.dispose()
  }
  const mb = (bytes: number) => bytes / (1024 * 1024)
  const diff = (f: (r: ChildResult) => number, side: "plugin" | "bundle" = "plugin") =>
    median(pairs.map((p) => f(p[side]) - f(p.empty)))
  return {
    name: "start",
    figures: [
      figure(
        "import_ms",
        "import server entry (added, median)",
        diff((r) => r.imported),
        "ms",
      ),
      figure(
        "ready_ms",
        "import + server() + loader (added)",
        diff((r) => r.ready),
        "ms",
      ),
      figure(
        "first_request_ms",
        "... + first request, runtime built (added)",
        diff((r) => r.first),
        "ms",
        atMost(150),
      ),
      figure(
        "empty_first_ms",
        "empty process: start + bare first request",
        median(pairs.map((p) => p.empty.first)),
        "ms",
      ),
      figure("rss_added_mb", "resident memory added (after GC)", mb(diff((r) => r.rss)), "MB", atMost(25)),
      figure(
        "bundle_first_request_ms",
        "the same from a bun build bundle (added)",
        diff((r) => r.first, "bundle"),
        "ms",
      ),
      figure("bundle_rss_added_mb", "resident memory added, bundle", mb(diff((r) => r.rss, "bundle")), "MB"),
      figure("empty_rss_mb", "empty process RSS", mb(median(pairs.map((p) => p.empty.rss))), "MB"),
    ],
    notes: [
      `${RUNS} interleaved rounds of three fresh processes (empty, sources, bundle); every time is since the process started`,
    ],
  }
}

export default bench
