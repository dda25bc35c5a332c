/**
 * An `auth.json` as the main account's store: the entry is ours, the rest of the file is the host's; with the
 * host's own lock every write waits for it and the refresh section runs inside it.
 */
import { expect } from "bun:test"
import { readFileSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { it } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Layer, Option, Redacted } from "effect"
import { MainCredentials } from "../src/CredentialsContract.ts"
import { type AuthFileLock, MainAccountFile } from "../src/MainAccountFile.ts"
import { tempDir } from "./support/fixture.ts"

const tokens = (refresh: string) =>
  new TokenSet({
    access: Redacted.make(`access-${refresh}`),
    refresh: Redacted.make(refresh),
    expiresAt: 1_900_000_000_000,
    accountId: "acct_file",
  })

/** A host lock that records what ran under it; `steal` makes the holder lose it half way. */
const recordingLock = (log: Array<string>, steal = false): AuthFileLock => ({
  withLock: (path, body) =>
    Effect.acquireUseRelease(
      Effect.sync(() => log.push(`lock ${path.endsWith("auth.json") ? "auth.json" : path}`)),
      () => body(() => (steal ? new Error("stolen") : undefined)),
      () => Effect.sync(() => log.push("unlock")),
    ),
})

const withFile = <A, E>(
  options: { readonly lock?: AuthFileLock; readonly path: string },
  body: (main: MainCredentials["Service"]) => Effect.Effect<A, E>,
) =>
  Effect.gen(function* () {
    return yield* body(yield* MainCredentials)
  }).pipe(
    Effect.provide(
      MainAccountFile.layer({ entry: "openai-codex", label: "the host's auth file", ...options }).pipe(
        Layer.provide(Files.layer),
      ),
    ),
  )

it.live("without a lock: a write keeps the host's other entries and unknown fields, mode 0600; no exclusive", () =>
  Effect.gen(function* () {
    using dir = tempDir()
    const path = join(dir.dir, "auth.json")
    writeFileSync(path, JSON.stringify({ other: { type: "api_key", key: "k" }, "openai-codex": { note: "kept" } }))
    const exclusive = yield* withFile({ path }, (main) => main.write(tokens("r1")).pipe(Effect.as(main.exclusive)))
    expect(exclusive).toBeUndefined()
    const written = JSON.parse(readFileSync(path, "utf8"))
    expect(written.other).toEqual({ type: "api_key", key: "k" })
    expect(written["openai-codex"]).toMatchObject({ note: "kept", type: "oauth", refresh: "r1" })
    expect(statSync(path).mode & 0o777).toBe(0o600)
    const read = yield* withFile({ path }, (main) => main.read)
    expect(Option.map(read, (t) => Redacted.value(t.refresh))).toEqual(Option.some("r1"))
  }),
)

it.live("with the host's lock: writes and the exclusive section run under it", () =>
  Effect.gen(function* () {
    using dir = tempDir()
    const path = join(dir.dir, "auth.json")
    const log: Array<string> = []
    const lock = recordingLock(log)
    yield* withFile({ path, lock }, (main) =>
      Effect.gen(function* () {
        yield* main.write(tokens("r1"))
        const exclusive = main.exclusive
        if (exclusive === undefined) throw new Error("a locked file offers the exclusive section")
        yield* exclusive((held) =>
          Effect.gen(function* () {
            const inside = yield* held.read
            log.push(`read ${Option.map(inside, (t) => Redacted.value(t.refresh)).pipe(Option.getOrElse(() => "-"))}`)
            yield* held.write(tokens("r2"))
          }),
        )
      }),
    )
    expect(log).toEqual(["lock auth.json", "unlock", "lock auth.json", "read r1", "unlock"])
    expect(JSON.parse(readFileSync(path, "utf8"))["openai-codex"].refresh).toBe("r2")
  }),
)

it.live("a holder that lost the host's lock writes nothing, and the file stays as it was", () =>
  Effect.gen(function* () {
    using dir = tempDir()
    const path = join(dir.dir, "auth.json")
    const before = JSON.stringify({ "openai-codex": { type: "oauth", access: "a", refresh: "r0", expires: 1 } })
    writeFileSync(path, before)
    const error = yield* withFile({ path, lock: recordingLock([], true) }, (main) =>
      Effect.flip(main.write(tokens("r1"))),
    )
    expect(error.message).toContain("lost the lock")
    expect(readFileSync(path, "utf8")).toBe(before)
  }),
)

it.live("a file that holds no JSON object is reported by a read and never overwritten by a write", () =>
  Effect.gen(function* () {
    using dir = tempDir()
    const path = join(dir.dir, "auth.json")
    writeFileSync(path, "[1, 2]")
    const read = yield* withFile({ path }, (main) => Effect.flip(main.read))
    expect(read.message).toContain("not a JSON object")
    const write = yield* withFile({ path }, (main) => Effect.flip(main.write(tokens("r1"))))
    expect(write.message).toContain("left as it is")
    expect(readFileSync(path, "utf8")).toBe("[1, 2]")
  }),
)
