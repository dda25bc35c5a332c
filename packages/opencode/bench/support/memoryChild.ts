/**
 * The steady-memory run, in a fresh process: `bun memoryChild.ts <simUrl> <accountJson> <requests> [size]`.
 * Builds the plugin as OpenCode does (env set by the parent), streams `requests` OpenCode-shaped turns through
 * its fetch over 20 rotating sessions, and after a full GC at each checkpoint records RSS and heap. With a
 * `size` above 10 KB every request is the next turn of a conversation of that size with a new message of its
 * own (what goes through the body memo). Prints one JSON line: the checkpoints.
 */

import { heapStats } from "bun:jsc"
import type { SimAccount } from "@cortexkit/openai-auth-testkit/Simulator"
import { bodies, buildPlugin, drain, sessionKey, turnBodies } from "./plugin.ts"

const [simUrl, accountJson, count, sizeArg] = process.argv.slice(2)
const account = JSON.parse(accountJson ?? "{}") as SimAccount
const requests = Number(count ?? "1000")
const size = Number(sizeArg ?? "10000")
const endpoint = `${simUrl}/backend-api/codex/responses`
const plugin = await buildPlugin(account)
const b = bodies(10_000, account, endpoint)
const turns = size > 10_000 ? turnBodies(size, "continuation", account, endpoint) : undefined
const sessions = Array.from({ length: 20 }, (_, i) => b.host(sessionKey(i)))
const hostFor = (i: number) => (turns === undefined ? sessions[i % sessions.length] : turns.host(sessionKey(i % 20), i))

const checkpoint = (done: number) => {
  Bun.gc(true)
  Bun.gc(true)
  const memory = process.memoryUsage()
  return { done, rss: memory.rss, heap: heapStats().heapSize, objects: heapStats().objectCount }
}

const points: Array<ReturnType<typeof checkpoint>> = []
const every = Math.max(1, Math.floor(requests / 10))
for (let i = 1; i <= requests; i++) {
  const host = hostFor(i)
  if (host === undefined) throw new Error("no session")
  const response = await plugin.fetch("https://api.openai.com/v1/responses", {
    method: "POST",
    headers: host.headers,
    body: host.body,
  })
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  await drain(response)
  if (i % every === 0) points.push(checkpoint(i))
}
await plugin.dispose()
console.log(JSON.stringify(points))
process.exit(0)
