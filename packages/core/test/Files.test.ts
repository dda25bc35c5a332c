import { afterAll, describe, expect } from "bun:test"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { NodeFileSystem } from "@effect/platform-node-shared"
import { Effect, Exit, Fiber, FileSystem, Layer, Option } from "effect"
import * as PlatformError from "effect/PlatformError"
import { FileError, Files } from "../src/Files.ts"

const root = mkdtempSync(join(tmpdir(), "oa-files-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const fresh = () => join(root, `case-${++n}`)
const modeOf = (path: string) => statSync(path).mode & 0o777

const it = testEffect(Files.layer)

describe("Files", () => {
  it.live("readText and stat: None for a missing file, Some after a write", () =>
    Effect.gen(function* () {
      const files = yield* Files
      const path = join(fresh(), "a.json")
      expect(Option.isNone(yield* files.readText(path))).toBe(true)
      expect(Option.isNone(yield* files.stat(path))).toBe(true)
      yield* files.writeAtomic(path, "hello")
      expect(yield* files.readText(path)).toEqual(Option.some("hello"))
      const stat = Option.getOrThrow(yield* files.stat(path))
      expect(stat.size).toBe(5)
      expect(stat.mtimeMs).toBeGreaterThan(0)
    }),
  )

  it.live(
    "readText (straight through node:fs) reads as the platform file system does: BOM dropped, bad bytes replaced",
    () =>
      Effect.gen(function* () {
        const files = yield* Files
        const dir = fresh()
        yield* files.makeDir(dir)
        const path = join(dir, "settings.json")
        writeFileSync(
          path,
          Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a":"\u00e9"}'), Buffer.from([0xff])]),
        )
        const platform = yield* Effect.gen(function* () {
          return yield* (yield* Files).readText(path)
        }).pipe(Effect.provide(Files.layerNoDeps.pipe(Layer.provide(NodeFileSystem.layer))))
        const text = yield* files.readText(path)
        expect(text).toEqual(platform)
        expect(text).toEqual(Option.some('{"a":"\u00e9"}\ufffd'))
        const error = yield* Effect.flip(files.readText(dir))
        expect(error.code).toBe("EISDIR")
      }),
  )

  it.live("a fresh Files.layer: concurrent first writes all land, and an interrupted first one spoils nothing", () =>
    Effect.gen(function* () {
      const dir = fresh()
      const firstUse = Effect.gen(function* () {
        const files = yield* Files
        // interrupted while the platform file system may still be loading: the next callers load it again
        const abandoned = yield* Effect.forkChild(files.makeDir(join(dir, "abandoned")))
        yield* Fiber.interrupt(abandoned)
        yield* Effect.forEach([1, 2, 3, 4], (i) => files.writeAtomic(join(dir, `f${i}.json`), `${i}`), {
          concurrency: "unbounded",
        })
        return yield* files.readText(join(dir, "f3.json"))
      })
      expect(yield* firstUse.pipe(Effect.provide(Files.layer))).toEqual(Option.some("3"))
      for (const i of [1, 2, 3, 4]) expect(readFileSync(join(dir, `f${i}.json`), "utf8")).toBe(`${i}`)
    }),
  )

  it.live("writeAtomic: file 0600 and new dir 0700 even under a permissive umask, no temp left", () =>
    Effect.gen(function* () {
      const files = yield* Files
      const dir = join(fresh(), "nested", "deeper")
      const path = join(dir, "store.json")
      const previous = process.umask(0o000)
      yield* files
        .writeAtomic(path, new Uint8Array([1, 2, 3]))
        .pipe(Effect.ensuring(Effect.sync(() => process.umask(previous))))
      expect(modeOf(path)).toBe(0o600)
      expect(modeOf(dir)).toBe(0o700)
      expect([...readFileSync(path)]).toEqual([1, 2, 3])
      expect(readdirSync(dir)).toEqual(["store.json"])
      yield* files.writeAtomic(path, "x", { mode: 0o640 })
      expect(modeOf(path)).toBe(0o640)
    }),
  )

  it.live("writeAtomic replaces an existing file and tightens its mode", () =>
    Effect.gen(function* () {
      const files = yield* Files
      const dir = fresh()
      yield* files.makeDir(dir)
      const path = join(dir, "s.json")
      writeFileSync(path, "old", { mode: 0o644 })
      yield* files.writeAtomic(path, "new")
      expect(readFileSync(path, "utf8")).toBe("new")
      expect(modeOf(path)).toBe(0o600)
    }),
  )

  it.live("a failing rename leaves the original untouched and removes the temp file", () =>
    Effect.gen(function* () {
      const dir = fresh()
      const path = join(dir, "s.json")
      const real = yield* Effect.provide(
        Effect.gen(function* () {
          return yield* FileSystem.FileSystem
        }),
        NodeFileSystem.layer,
      )
      yield* real.makeDirectory(dir, { recursive: true })
      writeFileSync(path, "original")
      const faulty = Layer.succeed(FileSystem.FileSystem)({
        ...real,
        rename: (from: string) =>
          Effect.fail(
            PlatformError.systemError({ _tag: "Busy", module: "FileSystem", method: "rename", pathOrDescriptor: from }),
          ),
      })
      const exit = yield* Effect.exit(
        Effect.gen(function* () {
          const files = yield* Files
          yield* files.writeAtomic(path, "replacement")
        }).pipe(Effect.provide(Layer.fresh(Files.layerNoDeps).pipe(Layer.provide(faulty)))),
      )
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) {
        const error = exit.cause.reasons.find((r) => r._tag === "Fail")
        expect(error?._tag === "Fail" && error.error instanceof FileError).toBe(true)
        if (error?._tag === "Fail") {
          expect(error.error.path).toBe(path)
          expect(error.error.operation).toBe("writeAtomic")
        }
      }
      expect(readFileSync(path, "utf8")).toBe("original")
      expect(readdirSync(dir)).toEqual(["s.json"])
    }),
  )

  it.live("errors carry path, operation and errno code", () =>
    Effect.gen(function* () {
      const files = yield* Files
      const dir = fresh()
      yield* files.makeDir(dir)
      const error = yield* Effect.flip(files.rename(join(dir, "missing"), join(dir, "other")))
      expect(error._tag).toBe("FileError")
      expect(error.path).toBe(join(dir, "missing"))
      expect(error.operation).toBe("rename")
      expect(error.code).toBe("ENOENT")
      const asFile = join(dir, "file")
      writeFileSync(asFile, "")
      const mkErr = yield* Effect.flip(files.writeAtomic(join(asFile, "child.json"), "x"))
      expect(mkErr.code).toBe("ENOTDIR")
    }),
  )

  it.live("append creates the file 0600 then appends", () =>
    Effect.gen(function* () {
      const files = yield* Files
      const path = join(fresh(), "log.txt")
      yield* files.append(path, "a\n")
      yield* files.append(path, "b\n")
      expect(readFileSync(path, "utf8")).toBe("a\nb\n")
      expect(modeOf(path)).toBe(0o600)
    }),
  )

  it.live("remove tolerates a missing file; rename moves", () =>
    Effect.gen(function* () {
      const files = yield* Files
      const dir = fresh()
      yield* files.makeDir(dir)
      yield* files.remove(join(dir, "nope"))
      writeFileSync(join(dir, "a"), "1")
      yield* files.rename(join(dir, "a"), join(dir, "b"))
      expect(readdirSync(dir)).toEqual(["b"])
      yield* files.remove(join(dir, "b"))
      expect(readdirSync(dir)).toEqual([])
    }),
  )

  it.live("createExclusive: exactly one of many concurrent creators wins, content complete", () =>
    Effect.gen(function* () {
      const files = yield* Files
      const dir = fresh()
      const path = join(dir, "x.lock")
      const results = yield* Effect.forEach(
        Array.from({ length: 16 }, (_, i) => i),
        (i) => files.createExclusive(path, JSON.stringify({ i })),
        { concurrency: "unbounded" },
      )
      expect(results.filter(Boolean).length).toBe(1)
      const winner = results.indexOf(true)
      expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ i: winner })
      expect(modeOf(path)).toBe(0o600)
      expect(readdirSync(dir)).toEqual(["x.lock"])
      expect(yield* files.createExclusive(path, "again")).toBe(false)
    }),
  )
})
