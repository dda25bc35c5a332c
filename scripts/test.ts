/**
 * Runs `bun test` in every package (each with its own bunfig), then in `examples/`, one after the other so that tests which
 * start real servers and processes do not compete for the two cores, then prints one closing line
 * `N passed, N failed` for CI. Extra arguments are passed to every `bun test`.
 */
import { existsSync, readdirSync } from "node:fs"
import { join } from "node:path"

const root = join(import.meta.dir, "..")
const order = ["testkit", "core", "transports", "accounts", "opencode", "pi"]
const present = new Set(readdirSync(join(root, "packages")))
// the example hosts last: they install the packed libraries like an outside project (examples/test)
const suites = [
  ...order.filter((name) => present.has(name)).map((name) => ({ name, cwd: join(root, "packages", name) })),
  ...(existsSync(join(root, "examples", "test")) ? [{ name: "examples", cwd: join(root, "examples") }] : []),
]

let passed = 0
let failed = 0
let skipped = 0
const failures: string[] = []

for (const { name, cwd } of suites) {
  console.log(`\n── ${name} ──`)
  const proc = Bun.spawn(["bun", "test", ...process.argv.slice(2)], {
    cwd,
    stdout: "inherit",
    stderr: "pipe",
    env: { ...process.env, FORCE_COLOR: "0" },
  })
  // bun test writes its report to stderr; echo it and read the counts from it.
  let report = ""
  const decoder = new TextDecoder()
  for await (const chunk of proc.stderr) {
    const text = decoder.decode(chunk, { stream: true })
    report += text
    process.stderr.write(text)
  }
  const code = await proc.exited
  const count = (label: string) => Number(report.match(new RegExp(`^\\s*(\\d+) ${label}$`, "m"))?.[1] ?? 0)
  const p = count("pass")
  const f = count("fail")
  skipped += count("skip")
  passed += p
  failed += f
  if (code !== 0 && f === 0) {
    failed += 1
    failures.push(`${name}: bun test exited ${code}`)
  } else if (f > 0) failures.push(`${name}: ${f} failing`)
  if (p === 0 && f === 0) failures.push(`${name}: no test ran`)
}

if (failures.length > 0) console.log(`\nProblems:\n${failures.map((line) => `- ${line}`).join("\n")}`)
console.log(`\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`)
process.exit(failed > 0 || failures.length > 0 ? 1 : 0)
