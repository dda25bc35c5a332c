#!/usr/bin/env node
/**
 * `openai-auth`: manage the plugin's ChatGPT accounts from a shell. Runs directly under Bun, and under
 * Node 22+ once bundled (plain ESM, no Bun-only syntax here).
 */
import { main } from "./cli/Main.ts"

const code = await main(process.argv.slice(2), {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
  env: { ...process.env },
})
process.exitCode = code
