/**
 * Nothing with a token in it is left behind. Real writers are SIGKILLed at random moments of their write loop
 * (often between writing the temp file and the rename, or between moving the lock aside and removing it);
 * each next writer removes what dead processes left: their temp files (which hold refresh tokens) and their
 * locks moved aside.
 */
import { afterAll, expect, test } from "bun:test"
import { readdirSync, readFileSync, watch } from "node:fs"
import { join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Effect, Layer } from "effect"
import { FileLock } from "../src/FileLock.ts"
import { Store } from "../src/Store.ts"
import { tempDir } from "./support/fixture.ts"
import { startWorker } from "./support/process.ts"

const root = tempDir("oa-leftovers-")
afterAll(() => root[Symbol.dispose]())
const ROUNDS = 30
const SECRET = "rt_leftover_secret"

test(`${ROUNDS} writers SIGKILLed mid-write: each next writer removes what the dead left, the last leaves only the store`, async () => {
  const path = join(root.dir, "openai-auth.json")
  const leftovers = () => readdirSync(root.dir).filter((name) => name !== "openai-auth.json")
  let seenDebris = 0
  let maxBetween = 0
  for (let round = 0; round < ROUNDS; round++) {
    const writer = startWorker(join(import.meta.dir, "workers", "tokenwriter.ts"), [path, SECRET])
    await writer.line(/^wrote \d+$/)
    if (round % 2 === 0) {
      // the moment its next temp file appears: the kill lands between writing it and the rename, or just after
      await new Promise<void>((resolve) => {
        const watcher = watch(root.dir, (_event, name) => {
          if (name !== null && /^openai-auth\.json\.\d+\.[0-9a-f]{12}\.tmp$/.test(String(name))) {
            writer.child.kill("SIGKILL")
            watcher.close()
            resolve()
          }
        })
      })
    } else writer.child.kill("SIGKILL")
    await writer.finished
    const left = leftovers().filter((name) => !name.endsWith(".lock"))
    seenDebris += left.length
    maxBetween = Math.max(maxBetween, left.length)
  }
  // the next writer (a fresh process's first update) cleans up before it writes
  const written = await Effect.runPromise(
    Effect.gen(function* () {
      const store = yield* Store
      return yield* store.update((doc) => ({ ...doc, extra: { ...doc.extra, final: true } }))
    }).pipe(
      Effect.provide(
        Store.layerAt(path, { lock: { timeoutMs: 60_000 } }).pipe(
          Layer.provide(FileLock.layer),
          Layer.provide(Files.layer),
        ),
      ),
    ),
  )
  expect(written.extra.final).toBe(true)
  expect(leftovers()).toEqual([])
  // the only copy of a refresh token on disk is the store's own
  const stored = readFileSync(path, "utf8")
  expect(stored).toContain(SECRET)
  console.log(
    `[faults] ${ROUNDS} writers SIGKILLed mid-write: ${seenDebris} leftover files seen between rounds (at most ${maxBetween} at once, each removed by the next writer); 0 after the last writer`,
  )
}, 300_000)
