/**
 * `bun increment.ts <store> <count>`: `count` read-modify-writes of the top-level `counter` key (a key the
 * schema does not know, so it also exercises unknown-key preservation). Prints one JSON line:
 * `{ pid, waits }`, where each wait is the ms from calling `update` until the update function ran (lock wait
 * plus the re-read inside the lock).
 */
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Effect, Layer } from "effect"
import { FileLock } from "../../src/FileLock.ts"
import { Store } from "../../src/Store.ts"

const [path, countArg, timeoutArg] = process.argv.slice(2)
if (path === undefined || countArg === undefined) throw new Error("usage: increment.ts <store> <count> [timeoutMs]")
const count = Number(countArg)
const timeoutMs = timeoutArg === undefined ? 60_000 : Number(timeoutArg)

const layer = Store.layerAt(path, { lock: { timeoutMs } }).pipe(
  Layer.provide(FileLock.layer),
  Layer.provide(Files.layer),
)

const program = Effect.gen(function* () {
  const store = yield* Store
  const waits: Array<number> = []
  for (let i = 0; i < count; i++) {
    const start = performance.now()
    yield* store.update((doc) => {
      waits.push(performance.now() - start)
      const counter = typeof doc.extra.counter === "number" ? doc.extra.counter : 0
      return { ...doc, extra: { ...doc.extra, counter: counter + 1, [`last_${process.pid}`]: i } }
    })
  }
  return waits
})

const waits = await Effect.runPromise(program.pipe(Effect.provide(layer)))
process.stdout.write(`${JSON.stringify({ pid: process.pid, waits })}\n`)
