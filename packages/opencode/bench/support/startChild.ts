/**
 * One fresh process of the plugin-start bench:
 * `bun startChild.ts empty|builtins|published|sources <simUrl> <accountJson> [<published server.js>]`.
 * `empty` imports an empty module and makes one bare request; `builtins` also loads the Node built-ins the
 * runtime chunk imports (`node:crypto`, `fs`, `os`, `path`), which OpenCode has loaded before any plugin; `published` imports the built `server.js`
 * (scripts/build.ts output), calls `server(input)` and the auth loader as OpenCode does, and makes its first
 * request through the plugin fetch (the runtime's layers are built on first use, so that request is part of
 * what starting costs). `sources` is the same from `src/server.ts`.
 * Prints one JSON line: ms since the process started at import, ready and after the first request, and RSS.
 */
import type { SimAccount } from "@cortexkit/openai-auth-testkit/Simulator"
import type { Plugin } from "@opencode-ai/plugin"

const [mode, simUrl, accountJson, publishedPath] = process.argv.slice(2)
const account = JSON.parse(accountJson ?? "{}") as SimAccount
const codexEndpoint = `${simUrl}/backend-api/codex/responses`
const body = JSON.stringify({
  model: "gpt-5.5",
  instructions: "You are a test.",
  input: [{ role: "user", content: [{ type: "input_text", text: "hello" }] }],
  store: false,
  stream: true,
  prompt_cache_key: `ses_start_${process.pid}`,
})

let imported: number
let ready: number
let response: Response
if (mode === "sources" || mode === "published") {
  const { buildPluginWith } = await import("./hostOnly.ts")
  const entry =
    mode === "sources"
      ? (await import("../../src/server.ts")).server
      : ((await import(publishedPath ?? "")) as { server: Plugin }).server
  imported = performance.now()
  const plugin = await buildPluginWith(entry, account)
  ready = performance.now()
  response = await plugin.fetch("https://api.openai.com/v1/responses", {
    method: "POST",
    headers: { "content-type": "application/json", "session-id": `ses_start_${process.pid}` },
    body,
  })
} else if (mode === "empty" || mode === "builtins") {
  await import("./empty.ts")
  // what every OpenCode process has loaded before any plugin: the Node built-ins the runtime chunk imports
  if (mode === "builtins") await Promise.all(["node:crypto", "node:fs", "node:os", "node:path"].map((m) => import(m)))
  imported = performance.now()
  ready = performance.now()
  response = await fetch(codexEndpoint, {
    method: "POST",
    headers: {
      authorization: `Bearer ${account.tokens.access}`,
      "chatgpt-account-id": account.accountId,
      "content-type": "application/json",
      accept: "text/event-stream",
      // the backend gates models on the Codex client version (testkit SimRules)
      version: "0.144.0",
    },
    body,
  })
} else throw new Error(`unknown mode ${mode}`)
if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
await response.text()
const first = performance.now()
Bun.gc(true)
const rss = process.memoryUsage().rss
console.log(JSON.stringify({ imported, ready, first, rss }))
process.exit(0)
