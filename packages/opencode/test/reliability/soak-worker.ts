/**
 * One soak process: the real plugin fetch (`makeRuntime` + `makeFetch`) with the main account in OpenCode's
 * `auth.json` (shared by every worker, as OpenCode's own file is), looping turns until SOAK_MS has passed.
 * Prints one JSON line on stdout at the end: counts, the longest gap between served turns, RSS after warm-up
 * and at the end (both after a full GC), and the first few errors verbatim.
 */
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Layer } from "effect"
import { HostAuthFile } from "../../src/HostAuthFile.ts"
import { makeFetch } from "../../src/Pipeline.ts"
import { makeRuntime } from "../../src/Runtime.ts"

const id = process.env.SOAK_WORKER ?? "0"
const runMs = Number(process.env.SOAK_MS ?? 10_000)
const warmMs = Number(process.env.SOAK_WARM_MS ?? 3_000)
const env = { ...process.env }
const runtime = makeRuntime(env, HostAuthFile.layer(env).pipe(Layer.provide(Files.layer)))
const fetchFn = makeFetch(runtime)

const bodyFor = (session: string, n: number) =>
  JSON.stringify({
    model: "gpt-5.5",
    input: [{ role: "user", content: [{ type: "input_text", text: `turn ${n} of worker ${id}` }] }],
    store: false,
    instructions: "You are a coding agent.",
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: session,
    reasoning: { effort: "medium", summary: "auto" },
    tools: [],
    tool_choice: "auto",
    stream: true,
  })

const memory = () => {
  Bun.gc(true)
  const { rss, heapUsed } = process.memoryUsage()
  return { rss, heap: heapUsed }
}

const started = Date.now()
let served = 0
let gated = 0
let lastServed = started
let maxGapMs = 0
let warm: { rss: number; heap: number } | undefined
const statuses: Record<string, number> = {}
const errors: Array<string> = []
const gatedSamples: Array<string> = []

for (let n = 0; Date.now() - started < runMs; n++) {
  const session = `ses_soak_${id}_${n % 4}`
  try {
    const response = await fetchFn("https://api.openai.com/v1/responses", {
      method: "POST",
      headers: { "content-type": "application/json", "session-id": session },
      body: bodyFor(session, n),
    })
    const text = await response.text()
    statuses[response.status] = (statuses[response.status] ?? 0) + 1
    if (response.status === 200 && text.includes("response.completed")) {
      served++
      const now = Date.now()
      maxGapMs = Math.max(maxGapMs, now - lastServed)
      lastServed = now
    } else if (response.status === 429 && /usage_limit_reached|"UsageLimit"/.test(text)) {
      gated++
      if (gatedSamples.length < 3) gatedSamples.push(`+${Date.now() - started} ms ${text.slice(0, 300)}`)
      // a refusal costs no backend call: honour Retry-After (capped) as the host does, instead of spinning
      const retryAfter = Number(response.headers.get("retry-after") ?? 1)
      await Bun.sleep(Math.min(Number.isFinite(retryAfter) ? retryAfter * 1000 : 1000, 500))
    } else if (errors.length < 5) errors.push(`${response.status} ${text.slice(0, 300)}`)
  } catch (error) {
    if (errors.length < 5) errors.push(`thrown: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (warm === undefined && Date.now() - started >= warmMs) warm = memory()
}
maxGapMs = Math.max(maxGapMs, Date.now() - lastServed)
const end = memory()
await runtime.dispose()
process.stdout.write(
  `${JSON.stringify({ id, served, gated, gatedSamples, statuses, errors, maxGapMs, warm: warm ?? end, end })}\n`,
)
