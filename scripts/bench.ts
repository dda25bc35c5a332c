/**
 * `bun run bench [filter]`: runs every `packages/<pkg>/bench/*.bench.ts` (each default-exports a `Bench`),
 * prints one table per bench, and as its very last line one JSON object holding every figure, keyed
 * `<bench>.<figure>`, and under `targets` the target of every figure that has one (`>= 0.9`, with ` MISSED`
 * appended when the run missed it). Exits non-zero only when a bench crashes: missed targets are reported, not hidden.
 */
import { readdirSync } from "node:fs"
import { join } from "node:path"
import type { Bench, BenchReport } from "@cortexkit/openai-auth-testkit/Bench"

const root = join(import.meta.dir, "..")
const filter = process.argv[2]
const files: Array<string> = []
for (const pkg of ["core", "transports", "accounts", "opencode"]) {
  const dir = join(root, "packages", pkg, "bench")
  let entries: Array<string> = []
  try {
    entries = readdirSync(dir)
  } catch {
    continue
  }
  for (const entry of entries.sort()) {
    if (entry.endsWith(".bench.ts") && (filter === undefined || entry.includes(filter))) files.push(join(dir, entry))
  }
}

const all: Record<string, number> = {}
const targets: Record<string, string> = {}
const missed: Array<string> = []
let crashed = false
for (const file of files) {
  const mod = (await import(file)) as { default: Bench }
  // every bench starts from a collected heap, not from the garbage of the benches before it
  Bun.gc(true)
  let report: BenchReport
  try {
    report = await mod.default()
  } catch (error) {
    crashed = true
    console.error(`\n${file}: crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`)
    continue
  }
  console.log(`\n${report.name}`)
  const width = Math.max(...report.figures.map((f) => f.label.length), 10)
  for (const f of report.figures) {
    const value = Number.isInteger(f.value) ? String(f.value) : f.value.toFixed(3)
    const verdict = f.ok === undefined ? "" : f.ok ? `  ok (target ${f.target})` : `  MISSED (target ${f.target})`
    console.log(`  ${f.label.padEnd(width)}  ${value.padStart(12)} ${f.unit}${verdict}`)
    all[`${report.name}.${f.key}`] = f.value
    if (f.target !== undefined) targets[`${report.name}.${f.key}`] = `${f.target}${f.ok === false ? " MISSED" : ""}`
    if (f.ok === false) missed.push(`${report.name}.${f.key}`)
  }
  for (const note of report.notes ?? []) console.log(`  note: ${note}`)
}
if (missed.length > 0) console.log(`\nTargets missed: ${missed.join(", ")}`)
console.log(JSON.stringify({ ...all, targets }))
process.exit(crashed ? 1 : 0)
