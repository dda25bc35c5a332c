/**
 * `bun run analyze:cache -- --session <id> [--dir <dumpDir>] [--no-timeline] [--wire-context N]`:
 * where in a dumped session the prompt cache fell off a cliff, and why.
 */
import { Files } from "@cortexkit/openai-auth-core/Files"
import { NodeFileSystem } from "@effect/platform-node-shared"
import { Effect, Layer } from "effect"
import { runAnalyzeCache } from "./analyze/Run.ts"

const main = runAnalyzeCache(process.argv.slice(2), {
  env: { ...process.env },
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
}).pipe(Effect.provide(Layer.merge(Files.layer, NodeFileSystem.layer)))

if (import.meta.main) {
  Effect.runPromise(main).then(
    (code) => {
      process.exitCode = code
    },
    (error: unknown) => {
      process.stderr.write(`analyze:cache: ${error instanceof Error ? error.message : String(error)}\n`)
      process.exitCode = 1
    },
  )
}
