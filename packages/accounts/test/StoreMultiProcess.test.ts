/**
 * Real processes sharing one store file: no lost update under contention, and a writer SIGKILLed at a random
 * moment leaves a whole document (old or new) plus, at worst, a stale lock the next writer recovers.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, watch } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Effect, Layer } from "effect"
import { FileLock } from "../src/FileLock.ts"
import { Store } from "../src/Store.ts"
import { startWorker } from "./support/process.ts"
import { blobFor } from "./workers/blob.ts"

/** the last `wrote <seq>` a worker printed */
const lastSeqOf = (lines: ReadonlyArray<string>) =>
  Number(
    lines
      .filter((l) => l.startsWith("wrote "))
      .at(-1)
      ?.slice("wrote ".length) ?? 0,
  )

/** resolves when a store temp file appears in `dir` (a write between its temp file and the rename) */
const tempAppears = (dir: string) =>
  new Promise<void>((resolve) => {
    const watcher = watch(dir, (_event, name) => {
      if (name !== null && /^openai-auth\.json\.\d+\.[0-9a-f]{12}\.tmp$/.test(String(name))) {
        watcher.close()
        resolve()
      }
    })
  })

const root = mkdtempSync(join(tmpdir(), "oa-store-mp-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
const workers = join(import.meta.dir, "workers")

const storeAt = (path: string) =>
  Store.layerAt(path, { lock: { timeoutMs: 10_000 } }).pipe(Layer.provide(FileLock.layer), Layer.provide(Files.layer))

describe("Store across processes", () => {
  test("8 processes x 50 increments: the count is exact and the file always parses", async () => {
    const dir = join(root, "counter")
    mkdirSync(dir, { recursive: true })
    const path = join(dir, "openai-auth.json")
    const children = Array.from({ length: 8 }, () =>
      Bun.spawn([process.execPath, join(workers, "increment.ts"), path, "50"], { stdout: "pipe", stderr: "pipe" }),
    )
    let running = true
    const exits = Promise.all(children.map((c) => c.exited)).finally(() => {
      running = false
    })
    // a reader polling while they write never sees a partial file
    let reads = 0
    while (running) {
      if (existsSync(path)) {
        const parsed = JSON.parse(readFileSync(path, "utf8"))
        expect(typeof parsed.counter).toBe("number")
        reads++
      }
      // sampling, not waiting: leave the CPU to the writers
      await new Promise<void>((resolve) => setTimeout(resolve, 2))
    }
    const codes = await exits
    const stderr = await Promise.all(children.map((c) => new Response(c.stderr).text()))
    expect({ codes, stderr: stderr.filter((s) => s.length > 0) }).toEqual({ codes: codes.map(() => 0), stderr: [] })
    const outputs = await Promise.all(children.map((c) => new Response(c.stdout).text()))
    expect(outputs.map((o) => JSON.parse(o).waits.length)).toEqual(children.map(() => 50))
    const final = JSON.parse(readFileSync(path, "utf8"))
    expect(final.counter).toBe(400)
    expect(final.version).toBe(1)
    for (const child of children) expect(final[`last_${child.pid}`]).toBe(49)
    expect(reads).toBeGreaterThan(0)
  }, 60_000)

  test("a writer killed mid-write leaves a whole document and a lock the next writer recovers", async () => {
    const dir = join(root, "killed")
    mkdirSync(dir, { recursive: true })
    const path = join(dir, "openai-auth.json")
    let staleLocksLeft = 0
    let lastSeq = 0
    for (let round = 0; round < 6; round++) {
      const child = startWorker(join(workers, "bigwriter.ts"), [path])
      await child.line(/^wrote \d+$/)
      // a random moment within the write loop: after 0-2 more whole writes, or as its next temp file appears
      if (round % 2 === 0) {
        const more = Math.floor(Math.random() * 3)
        if (more > 0) await child.line(new RegExp(`^wrote ${lastSeqOf(child.lines) + more}$`))
      } else await tempAppears(dir)
      child.child.kill("SIGKILL")
      await child.finished
      expect(child.child.signalCode).toBe("SIGKILL")

      const text = readFileSync(path, "utf8")
      const doc = JSON.parse(text)
      expect(doc.blob).toBe(blobFor(doc.seq))
      expect(doc.seq).toBeGreaterThanOrEqual(lastSeq)
      lastSeq = doc.seq
      if (existsSync(`${path}.lock`)) staleLocksLeft++

      // the next writer gets in although the dead one may still "hold" the lock: its pid is gone
      const written = await Effect.runPromise(
        Effect.gen(function* () {
          const store = yield* Store
          return yield* store.update((d) => ({ ...d, extra: { ...d.extra, rounds: round + 1 } }))
        }).pipe(Effect.provide(storeAt(path))),
      )
      expect(written.extra.rounds).toBe(round + 1)
      expect(written.extra.seq).toBe(lastSeq)
      expect(existsSync(`${path}.lock`)).toBe(false)
    }
    // informative: how often the kill landed inside the critical section
    console.log(`killed writers left a stale lock in ${staleLocksLeft}/6 rounds`)
  }, 120_000)
})
