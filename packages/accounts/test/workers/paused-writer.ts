/**
 * `bun paused-writer.ts <store> <key> <value> <go-file> <staleMs>`: one `Store.update` that sets the top-level
 * `key` to `value`. Inside the lock it prints `inside <run>` and waits until `go-file` exists, so a test can stop
 * it there (SIGSTOP) while holding the lock. Prints `done <runs>` at the end: how many times the update
 * function ran (more than once when the write was fenced).
 */
import { existsSync } from "node:fs"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Effect, Layer } from "effect"
import { FileLock } from "../../src/FileLock.ts"
import { Store } from "../../src/Store.ts"

const [path = "", key = "", value = "", go = "", staleArg = "30000"] = process.argv.slice(2)
const layer = Store.layerAt(path, { lock: { timeoutMs: 120_000, staleMs: Number(staleArg) } }).pipe(
  Layer.provide(FileLock.layer),
  Layer.provide(Files.layer),
)

/** resolves once `file` exists (a test's signal; the poll is this worker's, not the test's) */
const waitFor = (file: string) =>
  Effect.callback<void>((resume) => {
    const look = () => (existsSync(file) ? resume(Effect.void) : setTimeout(look, 5))
    look()
  })

let runs = 0
const program = Effect.gen(function* () {
  const store = yield* Store
  yield* store.update((doc) =>
    Effect.gen(function* () {
      runs++
      process.stdout.write(`inside ${runs}\n`)
      yield* waitFor(go)
      return { ...doc, extra: { ...doc.extra, [key]: value } }
    }),
  )
})

await Effect.runPromise(program.pipe(Effect.provide(layer)))
process.stdout.write(`done ${runs}\n`)
