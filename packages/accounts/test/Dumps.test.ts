import { expect } from "bun:test"
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Layer } from "effect"
import { type DumpEntry, Dumps, README_NAME, sanitizeSessionKey } from "../src/Dumps.ts"

const encoder = new TextEncoder()

const entry = (sequence: number, body: string, extra: Partial<DumpEntry> = {}): DumpEntry => ({
  sessionKey: "ses_abc/../x",
  sequence,
  at: Date.UTC(2026, 0, 2, 3, 4, 5, sequence),
  account: "acct_a",
  transport: "http",
  model: "gpt-5.5",
  url: "http://127.0.0.1:1/backend-api/codex/responses",
  headers: {
    authorization: "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
    "chatgpt-account-id": "acct_a",
    session_id: "ses_abc",
  },
  body: encoder.encode(body),
  hostRequest: {
    url: "https://api.openai.com/v1/responses",
    headers: { authorization: "Bearer sk-secretsecretsecret", "content-type": "application/json" },
    body: '{"model":"gpt-5.5","input":[]}',
  },
  ...extra,
})

const withDumps = (dir: string, enabled: () => boolean, lines: Array<string>) =>
  Dumps.layerWith({ dumpDir: dir, enabled: Effect.sync(enabled) }).pipe(
    Layer.provide(
      Layer.merge(
        Files.layer,
        Logger.layerCapture((line) => lines.push(line)),
      ),
    ),
  )

const tempDir = () => mkdtempSync(join(tmpdir(), "dumps-test-"))

const it = testEffect(Layer.empty)

it.live("writes body, redacted meta and host request with private modes, plus a README", () =>
  Effect.gen(function* () {
    const dir = tempDir()
    const lines: Array<string> = []
    const body = '{"model":"gpt-5.5","instructions":"hi","input":[{"role":"user","content":"é"}]}'
    yield* Effect.gen(function* () {
      const dumps = yield* Dumps
      yield* dumps.write(entry(1, body, { status: 200 }))
    }).pipe(Effect.provide(withDumps(dir, () => true, lines)))

    const sessionDir = join(dir, sanitizeSessionKey("ses_abc/../x"))
    expect(sanitizeSessionKey("ses_abc/../x")).not.toContain("/")
    const names = readdirSync(sessionDir).sort()
    expect(names).toHaveLength(3)
    const base = names[0]?.replace(/\.body\.json$/, "") ?? ""
    expect(base).toMatch(/^000001-2026-01-02T03-04-05-001Z$/)
    expect(readFileSync(join(sessionDir, `${base}.body.json`), "utf8")).toBe(body)

    const meta = JSON.parse(readFileSync(join(sessionDir, `${base}.meta.json`), "utf8"))
    expect(meta.headers.authorization).toBe("[REDACTED]")
    expect(meta.headers["chatgpt-account-id"]).toBe("acct_a")
    expect(meta.bytes).toBe(encoder.encode(body).byteLength)
    expect(meta.sha256).toBe(createHash("sha256").update(body).digest("hex"))
    expect(meta).toMatchObject({ account: "acct_a", model: "gpt-5.5", transport: "http", status: 200, sequence: 1 })

    const request = JSON.parse(readFileSync(join(sessionDir, `${base}.request.json`), "utf8"))
    expect(request.headers.authorization).not.toContain("sk-secret")
    expect(request.body).toEqual({ model: "gpt-5.5", input: [] })
    expect(request.url).toBe("https://api.openai.com/v1/responses")

    expect(readFileSync(join(dir, README_NAME), "utf8")).toContain("FULL PROMPTS")
    for (const name of names) expect(statSync(join(sessionDir, name)).mode & 0o777).toBe(0o600)
    expect(statSync(sessionDir).mode & 0o777).toBe(0o700)
    expect(statSync(join(dir, README_NAME)).mode & 0o777).toBe(0o600)
    expect(lines).toEqual([])
    rmSync(dir, { recursive: true, force: true })
  }),
)

it.live("writes nothing while the live flag is off, and follows it when it flips", () =>
  Effect.gen(function* () {
    const dir = tempDir()
    let on = false
    yield* Effect.gen(function* () {
      const dumps = yield* Dumps
      yield* dumps.write(entry(1, "{}"))
      expect(readdirSync(dir)).toEqual([])
      on = true
      yield* dumps.write(entry(2, "{}"))
    }).pipe(Effect.provide(withDumps(dir, () => on, [])))
    const files = readdirSync(join(dir, sanitizeSessionKey("ses_abc/../x")))
    expect(files.every((name) => name.startsWith("000002-"))).toBe(true)
    expect(files).toHaveLength(3)
    rmSync(dir, { recursive: true, force: true })
  }),
)

it.live("complete rewrites the meta with usage that arrived later", () =>
  Effect.gen(function* () {
    const dir = tempDir()
    yield* Effect.gen(function* () {
      const dumps = yield* Dumps
      yield* dumps.write(entry(7, "{}"))
      yield* dumps.complete("ses_abc/../x", 7, { inputTokens: 100, cachedTokens: 80, outputTokens: 5 })
      // unknown requests are ignored quietly
      yield* dumps.complete("nope", 1, { inputTokens: 1, cachedTokens: 0, outputTokens: 0 })
    }).pipe(Effect.provide(withDumps(dir, () => true, [])))
    const sessionDir = join(dir, sanitizeSessionKey("ses_abc/../x"))
    const metaName = readdirSync(sessionDir).find((name) => name.endsWith(".meta.json")) ?? ""
    const meta = JSON.parse(readFileSync(join(sessionDir, metaName), "utf8"))
    expect(meta.usage).toEqual({ inputTokens: 100, cachedTokens: 80, outputTokens: 5 })
    expect(meta.sha256).toHaveLength(64)
    rmSync(dir, { recursive: true, force: true })
  }),
)

it.live("a failing disk is logged, never raised to the caller", () =>
  Effect.gen(function* () {
    const dir = tempDir()
    // a regular file where the dump directory should be: every write fails
    const blocked = join(dir, "blocked")
    yield* Effect.promise(() => Bun.write(blocked, "x"))
    const lines: Array<string> = []
    const result = yield* Effect.gen(function* () {
      const dumps = yield* Dumps
      yield* dumps.write(entry(1, "{}"))
      return "returned"
    }).pipe(Effect.provide(withDumps(blocked, () => true, lines)))
    expect(result).toBe("returned")
    expect(lines.some((line) => line.includes("request dump failed"))).toBe(true)
    expect(lines.join("")).not.toContain("eyJhbGci")
    rmSync(dir, { recursive: true, force: true })
  }),
)

it.live("a write in the background: the usage waits for its own dump, and the service's end for every dump", () =>
  Effect.gen(function* () {
    const dir = tempDir()
    const usage = { inputTokens: 12, cachedTokens: 4, outputTokens: 3 }
    yield* Effect.gen(function* () {
      const dumps = yield* Dumps
      // the answer ends at once: its usage comes before the dump is on disk
      yield* dumps.writeInBackground(entry(1, "{}"))
      yield* dumps.complete("ses_abc/../x", 1, usage)
      // nobody waits for this one but the end of the service
      yield* dumps.writeInBackground(entry(2, "{}"))
    }).pipe(Effect.provide(withDumps(dir, () => true, [])))
    const sessionDir = join(dir, sanitizeSessionKey("ses_abc/../x"))
    const names = readdirSync(sessionDir).sort()
    expect(names.map((name) => name.slice(0, 7))).toEqual([
      "000001-",
      "000001-",
      "000001-",
      "000002-",
      "000002-",
      "000002-",
    ])
    const meta = names.find((name) => name.startsWith("000001-") && name.endsWith(".meta.json")) ?? ""
    expect(JSON.parse(readFileSync(join(sessionDir, meta), "utf8")).usage).toEqual(usage)
    rmSync(dir, { recursive: true, force: true })
  }),
)
