/**
 * Store contention: 8 real processes x 200 read-modify-writes of one counter through `Store.update`, against
 * the same 1,600 mutations from one process. Every write is durable (fsync file + dir), so the absolute
 * times mostly measure the disk; the ratio shows what cross-process locking adds on top.
 */

import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { atMost, type Bench, figure, percentile } from "@cortexkit/openai-auth-testkit/Bench"

const worker = join(import.meta.dir, "..", "test", "workers", "increment.ts")
const PROCESSES = 8
const PER_PROCESS = 200
const TOTAL = PROCESSES * PER_PROCESS

const run = async (path: string, processes: number, each: number) => {
  const started = performance.now()
  const children = Array.from({ length: processes }, () =>
    Bun.spawn([process.execPath, worker, path, String(each), "120000"], { stdout: "pipe", stderr: "inherit" }),
  )
  const outputs = await Promise.all(children.map((c) => new Response(c.stdout).text()))
  const codes = await Promise.all(children.map((c) => c.exited))
  const elapsed = performance.now() - started
  if (codes.some((c) => c !== 0)) throw new Error(`a worker failed: exit codes ${codes.join(",")}`)
  const waits = outputs.flatMap((o) => (JSON.parse(o) as { waits: Array<number> }).waits)
  // user + system time of every worker: on a small machine the waiters' CPU is taken from the holder, and wall
  // time follows it (noisier, as it also holds everything else the machine runs)
  const cpuMs = children.reduce((sum, c) => sum + Number(c.resourceUsage()?.cpuTime.total ?? 0) / 1000, 0)
  const counter = (JSON.parse(readFileSync(path, "utf8")) as { counter: number }).counter
  return { elapsed, waits, counter, cpuMs }
}

const bench: Bench = async () => {
  const dir = mkdtempSync(join(tmpdir(), "oa-store-bench-"))
  try {
    const single = await run(join(dir, "single.json"), 1, TOTAL)
    const multi = await run(join(dir, "multi.json"), PROCESSES, PER_PROCESS)
    return {
      name: "store",
      figures: [
        figure(
          "lost_updates",
          `lost updates (${PROCESSES}x${PER_PROCESS}, counter ${multi.counter})`,
          TOTAL - multi.counter,
          "",
          atMost(0),
        ),
        figure("lost_updates_single", "lost updates (1 process)", TOTAL - single.counter, "", atMost(0)),
        figure("lock_wait_p50", "lock wait p50 (8 processes)", percentile(multi.waits, 50), "ms"),
        figure("lock_wait_p99", "lock wait p99 (8 processes)", percentile(multi.waits, 99), "ms"),
        figure("lock_wait_p50_single", "lock wait p50 (1 process)", percentile(single.waits, 50), "ms"),
        figure("total_multi", `total, ${PROCESSES} processes`, multi.elapsed, "ms"),
        figure("total_single", "total, 1 process", single.elapsed, "ms"),
        figure("cpu_per_write", `CPU per write (${PROCESSES} processes together)`, multi.cpuMs / TOTAL, "ms"),
        figure("cpu_per_write_single", "CPU per write (1 process)", single.cpuMs / TOTAL, "ms"),
        figure(
          "contention_ratio",
          "8 processes / 1 process (total time)",
          multi.elapsed / single.elapsed,
          "x",
          atMost(2),
        ),
      ],
      notes: [
        "lock wait = from calling update until the update function runs (lock acquisition + re-read inside the lock)",
        "each mutation fsyncs the file and its directory; process start-up is included in both totals",
        "CPU per write: user + system time of all workers (start-up included) over the 1,600 writes",
        "waiters take the lock first come, first served: p50 is about (processes - 1) mutations, p99 stays close to it",
      ],
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export default bench
