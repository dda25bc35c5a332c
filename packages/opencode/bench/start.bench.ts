/**
 * Plugin start, in fresh `bun` processes, interleaved. The headline process loads what is published: the
 * `server.js` that `scripts/build.ts` writes (the same build `npm publish` ships, built here into a temp
 * folder), calls `server(input)` and the auth loader as OpenCode does and serves its first request (the
 * runtime's layers are built on first use). The baseline process imports an empty module and makes the same
 * first request with a bare `fetch`. A third process does what the first does from the TypeScript sources
 * (the workspace, e2e and demo path): secondary information. Added time and resident memory are the medians
 * of the per-round differences against the baseline of the same round.
 */
import { join } from "node:path"
import { atMost, type Bench, figure, median } from "@cortexkit/openai-auth-testkit/Bench"
import { build } from "../../../scripts/build.ts"
import { makeSandbox } from "./support/plugin.ts"
import { startSimProcess } from "./support/simProcess.ts"

const CHILD = join(import.meta.dir, "support/startChild.ts")
const RUNS = 9
const MODES = ["empty", "builtins", "published", "sources"] as const
type Mode = (typeof MODES)[number]

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
  const published = await build(join(box.dir, "published"))
  const entry = join(published.outdir, "server.js")
  const run = async (mode: Mode): Promise<ChildResult> => {
    const proc = Bun.spawn(["bun", CHILD, mode, sim.url, JSON.stringify(main), entry], {
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
  const rounds: Array<Record<Mode, ChildResult>> = []
  try {
    for (const mode of MODES) await run(mode) // warms the file cache and Bun's transpiler cache
    for (let i = 0; i < RUNS; i++) {
      const got: Partial<Record<Mode, ChildResult>> = {}
      for (let k = 0; k < MODES.length; k++) {
        const mode = MODES[(i + k) % MODES.length] as Mode
        got[mode] = await run(mode)
      }
      rounds.push(got as Record<Mode, ChildResult>)
    }
  } finally {
    await sim.stop()
    box.dispose()
  }
  const mb = (bytes: number) => bytes / (1024 * 1024)
  const added = (f: (r: ChildResult) => number, side: Exclude<Mode, "empty">, base: Mode = "empty") =>
    median(rounds.map((r) => f(r[side]) - f(r[base])))
  return {
    name: "start",
    figures: [
      figure(
        "import_ms",
        "published: import server.js (added)",
        added((r) => r.imported, "published"),
        "ms",
      ),
      figure(
        "ready_ms",
        "published: import + server() + loader (added)",
        added((r) => r.ready, "published"),
        "ms",
      ),
      figure(
        "first_request_ms",
        "published: ... + first request, runtime built (added)",
        added((r) => r.first, "published"),
        "ms",
        atMost(150),
      ),
      figure(
        "rss_added_mb",
        "published: resident memory added (after GC)",
        mb(added((r) => r.rss, "published")),
        "MB",
        atMost(20),
      ),
      figure(
        "rss_added_over_builtins_mb",
        "published: resident memory added against a process with node:crypto/fs/os/path loaded, as OpenCode's is",
        mb(added((r) => r.rss, "published", "builtins")),
        "MB",
      ),
      figure(
        "sources_ready_ms",
        "sources: import + server() + loader (added)",
        added((r) => r.ready, "sources"),
        "ms",
      ),
      figure(
        "sources_first_request_ms",
        "sources: ... + first request (added)",
        added((r) => r.first, "sources"),
        "ms",
      ),
      figure("sources_rss_added_mb", "sources: resident memory added", mb(added((r) => r.rss, "sources")), "MB"),
      figure(
        "empty_first_ms",
        "empty process: start + bare first request",
        median(rounds.map((r) => r.empty.first)),
        "ms",
      ),
      figure("empty_rss_mb", "empty process RSS", mb(median(rounds.map((r) => r.empty.rss))), "MB"),
    ],
    notes: [
      `${RUNS} interleaved rounds of four fresh processes (empty, empty + Node built-ins, published build, sources); times since process start`,
      `published = scripts/build.ts output (${published.files.length} files), the package npm ships`,
    ],
  }
}

export default bench
