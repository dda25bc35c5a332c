/**
 * Hostile input for the account store and the command grammar: any parsed JSON through `decodeDocument`,
 * any file content and any (possibly failing) update through `Store.update` with the disk refusing writes
 * half-way, and any words through the slash-command parser. Nothing throws, and a failing update leaves the
 * file's bytes exactly as they were.
 */
import { afterAll, describe, expect, test } from "bun:test"
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { NodeFileSystem } from "@effect/platform-node-shared"
import { Effect, FileSystem, Layer, ManagedRuntime, Redacted, Result } from "effect"
import { systemError } from "effect/PlatformError"
import fc from "fast-check"
import { fuzz, fuzzSeed } from "../../../core/test/reliability/fuzz.ts"
import { LOG_LEVELS, parseCommand, splitArguments, USAGE } from "../../src/CommandSyntax.ts"
import { FileLock } from "../../src/FileLock.ts"
import { Store } from "../../src/Store.ts"
import { decodeDocument, encodeDocument, type StoreDocument } from "../../src/StoreSchema.ts"
import { tempDir } from "../support/fixture.ts"

const accountLike = fc.record(
  {
    id: fc.oneof(fc.constant("acct_1"), fc.string(), fc.integer()),
    userId: fc.oneof(fc.string(), fc.constant(null)),
    access: fc.oneof(fc.constant("at"), fc.string(), fc.constant(null)),
    refresh: fc.oneof(fc.constant("rt"), fc.string()),
    expiresAt: fc.oneof(fc.integer(), fc.double(), fc.string()),
    addedAt: fc.oneof(fc.integer(), fc.constant(Number.NaN)),
    state: fc.constantFrom("active", "needs-relogin", "gone", 3),
    exhaustedUntil: fc.oneof(fc.integer(), fc.constant(null)),
    type: fc.constantFrom("oauth", "api"),
    accountId: fc.string(),
    expires: fc.integer(),
    custom: fc.jsonValue(),
  },
  { requiredKeys: [] },
)

const documentLike = fc.oneof(
  { weight: 1, arbitrary: fc.jsonValue() },
  {
    weight: 4,
    arbitrary: fc.record(
      {
        version: fc.oneof(fc.constantFrom(0, 1, 2, -1, 1.5, "1"), fc.constant(undefined)),
        accounts: fc.oneof(
          fc.array(accountLike, { maxLength: 3 }),
          fc.dictionary(fc.string(), accountLike),
          fc.jsonValue(),
        ),
        routing: fc.constantFrom("main-first", "fallback-first", "sideways", null),
        killswitch: fc.oneof(
          fc.record(
            { enabled: fc.oneof(fc.boolean(), fc.string()), thresholds: fc.dictionary(fc.string(), fc.jsonValue()) },
            { requiredKeys: [] },
          ),
          fc.jsonValue(),
        ),
        quota: fc.oneof(fc.dictionary(fc.string(), fc.jsonValue()), fc.jsonValue()),
        dump: fc.oneof(fc.boolean(), fc.string(), fc.constant(null)),
        logLevel: fc.constantFrom("debug", "loud", null),
        main: fc.oneof(fc.record({ state: fc.constantFrom("active", "needs-relogin", "x") }), fc.jsonValue()),
        mystery: fc.jsonValue(),
      },
      { requiredKeys: [] },
    ),
  },
)

/** `value` with an own `__proto__` key, as `JSON.parse` makes it (an assignment would set the prototype) */
const withProtoKey = (value: unknown, proto: unknown): unknown => {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value
  const copy: Record<string, unknown> = { ...(value as Record<string, unknown>) }
  Object.defineProperty(copy, "__proto__", { value: proto, enumerable: true, writable: true, configurable: true })
  return copy
}

/** documents whose top level, accounts, quota and thresholds may carry a `__proto__` key */
const protoDocumentLike = fc
  .record({
    doc: documentLike,
    top: fc.option(fc.jsonValue(), { nil: undefined }),
    inAccount: fc.option(fc.jsonValue(), { nil: undefined }),
    inQuota: fc.option(fc.jsonValue(), { nil: undefined }),
    inThresholds: fc.option(
      fc.record({ fiveHour: fc.integer({ min: 0, max: 100 }), weekly: fc.integer({ min: 0, max: 100 }) }),
      { nil: undefined },
    ),
  })
  .map(({ doc, top, inAccount, inQuota, inThresholds }) => {
    if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return doc
    const raw = { ...(doc as Record<string, unknown>) }
    if (inAccount !== undefined && Array.isArray(raw.accounts))
      raw.accounts = raw.accounts.map((a) => withProtoKey(a, inAccount))
    if (inQuota !== undefined) raw.quota = withProtoKey(typeof raw.quota === "object" ? raw.quota : {}, inQuota)
    if (inThresholds !== undefined) raw.killswitch = { thresholds: withProtoKey({}, inThresholds) }
    return top === undefined ? raw : withProtoKey(raw, top)
  })

describe("fuzz: store document decoder", () => {
  test("decodeDocument: any parsed JSON ends in a document that re-encodes, or a reason", () => {
    fuzz(
      "StoreSchema.decodeDocument",
      documentLike,
      (raw) => {
        const decoded = decodeDocument(raw, 1_700_000_000_000)
        if (Result.isFailure(decoded)) {
          expect(decoded.failure.length).toBeGreaterThan(0)
          return "error"
        }
        // a document we accepted must be writable again, unknown keys kept
        const encoded = encodeDocument(decoded.success)
        expect(Result.isSuccess(encoded)).toBe(true)
        if (Result.isSuccess(encoded) && typeof raw === "object" && raw !== null && "mystery" in raw) {
          expect(encoded.success.mystery).toEqual((raw as { mystery: unknown }).mystery)
        }
        return "value"
      },
      { numRuns: 4000 },
    )
  }, 120_000)

  test("decodeDocument: a `__proto__` key anywhere is kept like any unknown key, never the prototype", () => {
    let kept = 0
    fuzz(
      "StoreSchema __proto__ keys",
      protoDocumentLike,
      (raw) => {
        const decoded = decodeDocument(raw, 1_700_000_000_000)
        if (Result.isFailure(decoded)) return "error"
        const encoded = encodeDocument(decoded.success)
        expect(Result.isSuccess(encoded)).toBe(true)
        if (Result.isFailure(encoded)) return "error"
        const out = encoded.success
        // the written document is a plain object, its prototype untouched
        expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
        const text = JSON.stringify(out)
        const back = JSON.parse(text) as Record<string, unknown>
        const input = raw as Record<string, unknown>
        if (Object.hasOwn(input, "__proto__")) {
          expect(Object.hasOwn(back, "__proto__")).toBe(true)
          const own = (o: object) => Object.getOwnPropertyDescriptor(o, "__proto__")?.value
          expect(own(back)).toEqual(JSON.parse(JSON.stringify(own(input) ?? null)))
          kept++
        }
        const accountsIn = Array.isArray(input.accounts) ? input.accounts : []
        const accountsOut = Array.isArray(back.accounts) ? back.accounts : []
        accountsOut.forEach((account, i) => {
          const source = accountsIn[i] as Record<string, unknown> | undefined
          if (source !== undefined && Object.hasOwn(source, "__proto__")) {
            expect(Object.hasOwn(account as object, "__proto__")).toBe(true)
            kept++
          }
        })
        return "value"
      },
      { numRuns: 3000 },
    )
    expect(kept).toBeGreaterThan(0)
  }, 120_000)
})

const noSpace = Effect.fail(
  systemError({
    _tag: "Unknown",
    module: "FileSystem",
    method: "writeAll",
    description: "ENOSPC: no space left on device",
    cause: { code: "ENOSPC" },
  }),
)

/** NodeFileSystem whose temp-file writes stop half-way with ENOSPC while `diskFull.on` */
const diskFull = { on: false, hits: 0 }
const failingFileSystem = Layer.effect(
  FileSystem.FileSystem,
  Effect.gen(function* () {
    const real = yield* FileSystem.FileSystem
    const open: typeof real.open = (path, options) =>
      Effect.map(real.open(path, options), (file) =>
        !diskFull.on || !path.endsWith(".tmp")
          ? file
          : new Proxy(file, {
              get: (target, key, receiver) =>
                key === "writeAll"
                  ? (bytes: Uint8Array) => {
                      diskFull.hits++
                      return target.writeAll(bytes.subarray(0, bytes.length >> 1)).pipe(Effect.andThen(noSpace))
                    }
                  : Reflect.get(target, key, receiver),
            }),
      )
    return { ...real, open }
  }),
).pipe(Layer.provide(NodeFileSystem.layer))

const dir = tempDir("oa-rel-store-")
afterAll(() => dir[Symbol.dispose]())
const files = Files.layerNoDeps.pipe(Layer.provide(failingFileSystem))
const storePath = `${dir.dir}/openai-auth.json`
const runtime = ManagedRuntime.make(
  Store.layerAt(storePath, { lock: { timeoutMs: 2000 } }).pipe(
    Layer.provide(Layer.merge(files, FileLock.layer.pipe(Layer.provide(files)))),
  ),
)

const account = (id: string) => ({
  id,
  access: Redacted.make(`at_${id}`),
  refresh: Redacted.make(`rt_${id}`),
  expiresAt: 1,
  addedAt: 1,
  state: "active" as const,
})

type Mutation =
  | { readonly kind: "valid"; readonly id: string }
  | { readonly kind: "invalid-expiry"; readonly value: number }
  | { readonly kind: "empty-id" }
  | { readonly kind: "typed-failure" }
  | { readonly kind: "defect" }
  | { readonly kind: "disk-full"; readonly id: string }

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("valid" as const), id: fc.stringMatching(/^[a-z0-9_]{1,12}$/) }),
  fc.record({
    kind: fc.constant("invalid-expiry" as const),
    value: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
  }),
  fc.constant({ kind: "empty-id" as const }),
  fc.constant({ kind: "typed-failure" as const }),
  fc.constant({ kind: "defect" as const }),
  fc.record({ kind: fc.constant("disk-full" as const), id: fc.stringMatching(/^[a-z0-9_]{1,12}$/) }),
)

const apply = (m: Mutation) => (doc: StoreDocument) => {
  switch (m.kind) {
    case "valid":
    case "disk-full":
      return { ...doc, accounts: [...doc.accounts.filter((a) => a.id !== m.id), account(m.id)] }
    case "invalid-expiry":
      return { ...doc, accounts: [...doc.accounts, { ...account("bad"), expiresAt: m.value }] }
    case "empty-id":
      return { ...doc, accounts: [...doc.accounts, account("")] }
    case "typed-failure":
      return Effect.fail("refused" as const)
    case "defect":
      return Effect.die(new Error("update bug"))
  }
}

describe("fuzz: Store.update never writes part of a document", () => {
  test("any starting bytes x any update (invalid, failing, dying, disk full half-way): written whole or untouched", async () => {
    const seen = { written: 0, untouched: 0 }
    const seed = fuzzSeed()
    const starts = fc.oneof(
      fc.constant(undefined),
      fc.constant('{"version":1,"accounts":[],"routing":"fallback-first","mine":{"keep":true}}\n'),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc.string({ unit: "grapheme", maxLength: 30 }),
      documentLike.map((v) => JSON.stringify(v)),
    )
    await fc.assert(
      fc.asyncProperty(starts, mutation, async (start, m) => {
        // `undefined`: no file at all (the first run on a machine)
        if (start === undefined) rmSync(storePath, { force: true })
        else writeFileSync(storePath, start)
        const bytes = () => (existsSync(storePath) ? readFileSync(storePath) : Buffer.alloc(0))
        const before = bytes()
        diskFull.on = m.kind === "disk-full"
        const exit = await runtime.runPromiseExit(
          Effect.gen(function* () {
            const store = yield* Store
            return yield* store.update(apply(m))
          }),
        )
        diskFull.on = false
        const after = bytes()
        if (exit._tag === "Failure" || m.kind !== "valid") {
          if (exit._tag === "Success" && m.kind !== "disk-full") {
            // an invalid update may only "succeed" by not changing anything
            expect(after.equals(before)).toBe(true)
          }
          if (exit._tag === "Failure") expect(after.equals(before)).toBe(true)
        }
        if (exit._tag === "Success") {
          // whatever is on disk parses and decodes (no file: nothing was written)
          if (existsSync(storePath) && after.length > 0) {
            const decoded = decodeDocument(JSON.parse(after.toString()), 0)
            expect(Result.isSuccess(decoded)).toBe(true)
          }
          if (!after.equals(before)) seen.written++
          else seen.untouched++
        } else seen.untouched++
        // no temp file is ever left behind
        expect(readdirSync(dir.dir).filter((f) => f.endsWith(".tmp"))).toEqual([])
      }),
      { numRuns: 400, seed },
    )
    expect(diskFull.hits).toBeGreaterThan(0)
    console.log(
      `[fuzz] Store.update (start bytes x update kind, disk full half-way): 400 cases (seed ${seed}) -> ${seen.written} whole writes, ` +
        `${seen.untouched} left byte-identical, ${diskFull.hits} ENOSPC mid-write, 0 partial files, 0 temp files left`,
    )
    await runtime.dispose()
  }, 120_000)
})

describe("fuzz: slash-command grammar", () => {
  const names = [...Object.keys(USAGE), "", "Quota", "accounts", "__proto__", "constructor", "toString"]
  const words = [
    "add",
    "switch",
    "remove",
    "order",
    "on",
    "off",
    "set",
    "subagents",
    "main-first",
    "fallback-first",
    ...LOG_LEVELS,
    "main",
    "*:50,80",
    "acct_1:0,100",
    "a:b,c",
    "x:1e309,5",
    "",
    "--json",
  ]
  test("parseCommand / splitArguments: any name and words end in a command or a usage error, never a throw", () => {
    fuzz(
      "CommandSyntax.parseCommand + splitArguments",
      fc.record({
        name: fc.oneof(fc.constantFrom(...names), fc.string({ maxLength: 10 })),
        args: fc.array(
          fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...words) }, fc.string({ unit: "grapheme", maxLength: 10 })),
          { maxLength: 5 },
        ),
        text: fc.string({ unit: "grapheme", maxLength: 40 }),
      }),
      ({ name, args, text }) => {
        const split = splitArguments(text)
        for (const w of split) expect(w).toMatch(/^\S+$/)
        const parsed = parseCommand(name, args)
        if (!parsed.ok) {
          expect(parsed.error.length).toBeGreaterThan(0)
          if (Object.hasOwn(USAGE, name)) expect(parsed.error).toContain("Usage:")
          return "error"
        }
        expect(typeof parsed.command._tag).toBe("string")
        return "value"
      },
      { numRuns: 5000 },
    )
  }, 120_000)
})
