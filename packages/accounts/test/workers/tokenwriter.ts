/**
 * `bun tokenwriter.ts <store> <secret>`: rewrites the store forever, until killed: each write holds a fallback
 * account whose refresh token is `<secret>-<seq>` plus ~1 MB of padding (so a kill often lands while the temp
 * file is being written). Prints `wrote <seq>` after each write.
 */
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Effect, Layer, Redacted } from "effect"
import { FileLock } from "../../src/FileLock.ts"
import { Store } from "../../src/Store.ts"

const [path = "", secret = ""] = process.argv.slice(2)
const layer = Store.layerAt(path, { lock: { timeoutMs: 60_000 } }).pipe(
  Layer.provide(FileLock.layer),
  Layer.provide(Files.layer),
)
const padding = "p".repeat(2_000_000)

const program = Effect.gen(function* () {
  const store = yield* Store
  while (true) {
    const doc = yield* store.update((d) => {
      const seq = (typeof d.extra.seq === "number" ? d.extra.seq : 0) + 1
      const account = {
        id: "acct_leftover",
        access: Redacted.make(`at-${seq}`),
        refresh: Redacted.make(`${secret}-${seq}`),
        expiresAt: 1,
        addedAt: 1,
        state: "active" as const,
      }
      return { ...d, accounts: [account], extra: { ...d.extra, seq, padding } }
    })
    process.stdout.write(`wrote ${doc.extra.seq}\n`)
  }
})

await Effect.runPromise(program.pipe(Effect.provide(layer)))
