/**
 * `bun observe.ts <store> <worker> <workers> <rounds>`: `rounds` quota readings and usage-limit marks through
 * `Store.observe` (written behind, in the background), with a locked `update` of the top-level `counter` key
 * every fourth round, then a clean exit (the layer's scope flushes what is pending). Reading times are unique
 * across workers (`round * workers + worker`), so the newest reading per account is well defined.
 */
import { Files } from "@cortexkit/openai-auth-core/Files"
import { QuotaSnapshot, QuotaWindow } from "@cortexkit/openai-auth-core/Quota"
import { Effect, Layer } from "effect"
import { FileLock } from "../../src/FileLock.ts"
import { Store } from "../../src/Store.ts"

export const KEYS = ["main", "acct_a/user_a", "acct_b/user_b"] as const
export const MARK_BASE = 2_000_000_000_000

/** the reading taken at `at`: its percentages are derived from `at`, so the test can tell which one won */
export const readingAt = (at: number) =>
  QuotaSnapshot.make({
    observedAt: at,
    source: "headers",
    fiveHour: QuotaWindow.make({ usedPercent: at % 101, windowMinutes: 300, resetsAt: MARK_BASE }),
    weekly: QuotaWindow.make({ usedPercent: (at * 7) % 101, windowMinutes: 10080, resetsAt: MARK_BASE }),
    otherWindows: [],
    additional: [],
  })

if (import.meta.main) {
  const [path, workerArg, workersArg, roundsArg] = process.argv.slice(2)
  if (path === undefined || workerArg === undefined || workersArg === undefined || roundsArg === undefined)
    throw new Error("usage: observe.ts <store> <worker> <workers> <rounds>")
  const worker = Number(workerArg)
  const workers = Number(workersArg)
  const rounds = Number(roundsArg)
  const layer = Store.layerAt(path, { lock: { timeoutMs: 30_000 } }).pipe(
    Layer.provide(FileLock.layer),
    Layer.provide(Files.layer),
  )
  const program = Effect.gen(function* () {
    const store = yield* Store
    let updates = 0
    for (let round = 0; round < rounds; round++) {
      const at = round * workers + worker
      yield* store.observe({
        quota: { [KEYS[round % 3] as string]: readingAt(at) },
        exhausted: { [KEYS[(round + worker) % 3] as string]: MARK_BASE + at },
      })
      if (round % 4 === 0) {
        yield* store.update((doc) => {
          const counter = typeof doc.extra.counter === "number" ? doc.extra.counter : 0
          return { ...doc, extra: { ...doc.extra, counter: counter + 1 } }
        })
        updates++
      }
      // let the background writes of every process interleave
      yield* Effect.sleep(1)
    }
    return updates
  })
  const updates = await Effect.runPromise(program.pipe(Effect.provide(layer)))
  process.stdout.write(`${JSON.stringify({ updates })}\n`)
}
