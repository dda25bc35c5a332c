/**
 * `bun bigwriter.ts <store>`: rewrites a large document through `Store.update` forever, until killed. Each
 * write stores `seq` and a ~2 MB `blob` derived from it, so a reader can tell a whole document from a torn
 * one. Prints `ready` once the first write landed, then `wrote <seq>` after each write.
 */
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Effect, Layer } from "effect"
import { FileLock } from "../../src/FileLock.ts"
import { Store } from "../../src/Store.ts"
import { blobFor } from "./blob.ts"

const path = process.argv[2]
if (path === undefined) throw new Error("usage: bigwriter.ts <store>")

const layer = Store.layerAt(path, { lock: { timeoutMs: 30_000 } }).pipe(
  Layer.provide(FileLock.layer),
  Layer.provide(Files.layer),
)

const program = Effect.gen(function* () {
  const store = yield* Store
  let announced = false
  while (true) {
    const written = yield* store.update((doc) => {
      const seq = (typeof doc.extra.seq === "number" ? doc.extra.seq : 0) + 1
      return { ...doc, extra: { ...doc.extra, seq, blob: blobFor(seq) } }
    })
    if (!announced) {
      announced = true
      process.stdout.write("ready\n")
    }
    process.stdout.write(`wrote ${written.extra.seq}\n`)
  }
})

await Effect.runPromise(program.pipe(Effect.provide(layer)))
