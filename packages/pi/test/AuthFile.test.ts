import { afterEach, expect, test } from "bun:test"
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { MainCredentials } from "@cortexkit/openai-auth-accounts/Credentials"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Effect, Layer, Option, Redacted } from "effect"
import lockfile from "proper-lockfile"
import { PiAuthFile } from "../src/AuthFile.ts"

const dirs: Array<string> = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

const authFile = () => {
  const dir = mkdtempSync(join(tmpdir(), "pi-auth-"))
  dirs.push(dir)
  return join(dir, "auth.json")
}

const run = <A, E>(path: string, body: (main: MainCredentials["Service"]) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.gen(function* () {
      return yield* body(yield* MainCredentials)
    }).pipe(Effect.provide(PiAuthFile.layerAt(path).pipe(Layer.provide(Files.layer)))),
  )

const tokens = (access: string, refresh: string) =>
  new TokenSet({
    access: Redacted.make(access),
    refresh: Redacted.make(refresh),
    expiresAt: 1_900_000_000_000,
    accountId: "acct_file",
  })

test("the lock we hold is the one Pi takes (proper-lockfile on auth.json), and we wait for Pi's", async () => {
  const path = authFile()
  writeFileSync(path, "{}")
  // while our body runs, Pi's own attempt to lock the file is refused
  const refused = await run(path, (main) =>
    (main.exclusive ?? ((b) => b(main)))(() =>
      Effect.promise(() =>
        lockfile.lock(path, { retries: 0, stale: 30_000 }).then(
          (release) => release().then(() => "locked"),
          (error: { code?: string }) => error.code,
        ),
      ),
    ),
  )
  expect(refused).toBe("ELOCKED")

  // and while Pi holds it, our body only runs once Pi let go
  const release = await lockfile.lock(path, { retries: 0, stale: 30_000 })
  let piReleased = false
  const ours = run(path, (main) => (main.exclusive ?? ((b) => b(main)))(() => Effect.sync(() => piReleased)))
  // yield to the event loop a few times so our side has tried and been refused at least once
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve))
  piReleased = true
  await release()
  expect(await ours).toBe(true)
})

test("a write replaces only our entry: other providers and fields we do not know stay, mode 0600", async () => {
  const path = authFile()
  writeFileSync(
    path,
    JSON.stringify({
      anthropic: { type: "api_key", key: "sk-ant" },
      "openai-codex": {
        type: "oauth",
        access: "old",
        refresh: "old-r",
        expires: 1,
        accountId: "acct_file",
        note: "kept",
      },
    }),
  )
  await run(path, (main) => main.write(tokens("new-access", "new-refresh")))
  const written = JSON.parse(readFileSync(path, "utf8"))
  expect(written.anthropic).toEqual({ type: "api_key", key: "sk-ant" })
  expect(written["openai-codex"]).toEqual({
    type: "oauth",
    access: "new-access",
    refresh: "new-refresh",
    expires: 1_900_000_000_000,
    accountId: "acct_file",
    note: "kept",
  })
  expect(statSync(path).mode & 0o777).toBe(0o600)
  const read = await run(path, (main) => main.read)
  expect(Option.map(read, (t) => Redacted.value(t.refresh))).toEqual(Option.some("new-refresh"))
})

test("a file that is not JSON is reported and left exactly as it was", async () => {
  const path = authFile()
  writeFileSync(path, '{"openai-codex": {"type": "oauth", ')
  const read = await Effect.runPromise(
    Effect.gen(function* () {
      return yield* (yield* MainCredentials).read
    }).pipe(Effect.flip, Effect.provide(PiAuthFile.layerAt(path).pipe(Layer.provide(Files.layer)))),
  )
  expect(read.message).toContain("not JSON")
  const write = await Effect.runPromise(
    Effect.gen(function* () {
      return yield* (yield* MainCredentials).write(tokens("a", "b"))
    }).pipe(Effect.flip, Effect.provide(PiAuthFile.layerAt(path).pipe(Layer.provide(Files.layer)))),
  )
  expect(write.message).toContain("left as it is")
  expect(readFileSync(path, "utf8")).toBe('{"openai-codex": {"type": "oauth", ')
})

test("no file yet, or an API key under our provider: no main login; the lock creates the file as Pi does", async () => {
  const path = authFile()
  expect(await run(path, (main) => main.read)).toEqual(Option.none())
  writeFileSync(path, JSON.stringify({ "openai-codex": { type: "api_key", key: "sk-x" } }))
  expect(await run(path, (main) => main.read)).toEqual(Option.none())
  const fresh = authFile()
  await run(fresh, (main) => (main.exclusive ?? ((b) => b(main)))(() => Effect.void))
  expect(readFileSync(fresh, "utf8")).toBe("{}")
})
