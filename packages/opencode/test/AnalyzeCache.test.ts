import { describe, expect } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Dumps, type DumpUsage } from "@cortexkit/openai-auth-accounts/Dumps"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { NodeFileSystem } from "@effect/platform-node-shared"
import { Effect, Layer } from "effect"
import { parseArgs } from "../src/analyze/Args.ts"
import { commonPrefix, describeCause } from "../src/analyze/Diff.ts"
import { loadSession } from "../src/analyze/Load.ts"
import { analyzeSession } from "../src/analyze/Report.ts"
import { runAnalyzeCache } from "../src/analyze/Run.ts"

type Body = Record<string, unknown>
const encoder = new TextEncoder()

const tool = (name: string, description = `the ${name} tool`) => ({
  type: "function",
  name,
  description,
  parameters: { type: "object", properties: { path: { type: "string" } } },
})
const user = (n: number) => ({ role: "user", content: [{ type: "input_text", text: `${"question ".repeat(60)}${n}` }] })
const assistant = (n: number) => ({
  role: "assistant",
  content: [{ type: "output_text", text: `${"answer ".repeat(60)}${n}` }],
})
const turns = (count: number) => Array.from({ length: count }, (_, i) => (i % 2 === 0 ? user(i) : assistant(i)))

const base = (input: ReadonlyArray<unknown>, patch: Body = {}): Body => ({
  model: "gpt-5.5",
  instructions: "You are a coding agent.",
  tools: [tool("read"), tool("edit"), tool("bash")],
  input,
  store: false,
  stream: true,
  prompt_cache_key: "ses_1",
  ...patch,
})

const layer = Layer.mergeAll(Files.layer, NodeFileSystem.layer, Logger.layerSilent)
const it = testEffect(layer)

/** writes the bodies as one dumped session through the real Dumps service and returns the dump dir */
const dumpSession = (bodies: ReadonlyArray<Body>, usages: ReadonlyArray<DumpUsage | undefined> = []) =>
  Effect.gen(function* () {
    const dir = mkdtempSync(join(tmpdir(), "analyze-test-"))
    yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
    const dumps = yield* Dumps.make({ dumpDir: dir, enabled: Effect.succeed(true) })
    for (const [i, body] of bodies.entries()) {
      const text = JSON.stringify(body)
      const usage = usages[i]
      yield* dumps.write({
        sessionKey: "ses_1",
        sequence: i + 1,
        at: 1_700_000_000_000 + i * 1000,
        account: "acct_a",
        transport: "http",
        model: String(body.model),
        url: "http://127.0.0.1/backend-api/codex/responses",
        headers: { authorization: "Bearer x" },
        body: encoder.encode(text),
        hostRequest: { url: "https://api.openai.com/v1/responses", headers: {}, body: text },
        ...(usage === undefined ? {} : { usage }),
      })
    }
    return dir
  })

const analyze = (bodies: ReadonlyArray<Body>, usages: ReadonlyArray<DumpUsage | undefined> = []) =>
  Effect.gen(function* () {
    const dir = yield* dumpSession(bodies, usages)
    return analyzeSession(yield* loadSession(dir, "ses_1"))
  })

describe("analysis of dumped sessions", () => {
  it.live("identical prefix growth has no cliff", () =>
    Effect.gen(function* () {
      const report = yield* analyze([base(turns(2)), base(turns(4)), base(turns(6))])
      expect(report.rows.map((row) => row.sequence)).toEqual([1, 2, 3])
      expect(report.cliffs).toEqual([])
      const second = report.rows[1]
      expect(second?.sharedPercent).toBeGreaterThan(90)
      expect(second?.sharedPrefix).toBeGreaterThan(0)
      expect(second?.bytes).toBeGreaterThan(report.rows[0]?.bytes ?? 0)
    }),
  )

  it.live("a changed tool is named as the cause", () =>
    Effect.gen(function* () {
      const tools = [tool("read", "read a file, now with line numbers"), tool("bash"), tool("grep"), tool("edit")]
      const report = yield* analyze([base(turns(6)), base(turns(8), { tools })])
      expect(report.cliffs).toHaveLength(1)
      const cause = report.cliffs[0]?.causes[0]
      expect(cause).toEqual({
        kind: "tools-changed",
        added: ["grep"],
        removed: [],
        rewritten: ["read"],
        reordered: true,
      })
      expect(describeCause(cause ?? { kind: "not-json" })).toBe("tools changed: added grep; rewritten read; reordered")
    }),
  )

  it.live("changed instructions are named as the cause", () =>
    Effect.gen(function* () {
      const report = yield* analyze([
        base(turns(6)),
        base(turns(8), { instructions: "You are a coding agent. Today is Tuesday." }),
      ])
      expect(report.cliffs.map((cliff) => cliff.causes.map((c) => c.kind))).toEqual([["instructions-changed"]])
      expect(report.cliffs[0]?.reason).toBe("prefix-drop")
    }),
  )

  it.live("a rewritten earlier input item is named with its index and type", () =>
    Effect.gen(function* () {
      const rewritten = turns(8)
      rewritten[1] = { role: "assistant", content: [{ type: "output_text", text: "summarised" }] }
      const report = yield* analyze([base(turns(6)), base(rewritten)])
      expect(report.cliffs).toHaveLength(1)
      const causes = report.cliffs[0]?.causes ?? []
      expect(causes).toEqual([
        { kind: "item-rewritten", index: 1, beforeType: "message(assistant)", afterType: "message(assistant)" },
      ])
      expect(describeCause(causes[0] ?? { kind: "not-json" })).toBe("input item 1 (message(assistant)) rewritten")
    }),
  )

  it.live("removed and reordered items and other top-level fields are told apart", () =>
    Effect.gen(function* () {
      const all = turns(8)
      const removed = [all[0], ...all.slice(2)]
      const reordered = [all[0], all[2], all[1], ...all.slice(3)]
      const report = yield* analyze([
        base(all),
        base(removed),
        base(all),
        base(reordered),
        base(all, { model: "gpt-5.4" }),
      ])
      expect(describeCause(report.cliffs[1]?.causes[0] ?? { kind: "not-json" })).toBe(
        "1 input item(s) inserted at index 1",
      )
      const kinds = report.cliffs.map((cliff) => [cliff.sequence, cliff.causes.map((c) => c.kind)])
      expect(kinds).toEqual([
        [2, ["items-removed"]],
        [3, ["items-inserted"]],
        [4, ["items-reordered"]],
        [5, ["items-reordered", "field-changed"]],
      ])
      const model = report.cliffs[3]?.causes.find((c) => c.kind === "field-changed")
      expect(model).toMatchObject({ field: "model", before: '"gpt-5.5"', after: '"gpt-5.4"' })
    }),
  )

  it.live("collapsing cached tokens are a cliff even when the bytes still match", () =>
    Effect.gen(function* () {
      const usage = (cached: number) => ({ inputTokens: 5000, cachedTokens: cached, outputTokens: 10 })
      const report = yield* analyze([base(turns(2)), base(turns(4)), base(turns(6))], [usage(0), usage(4000), usage(0)])
      expect(report.rows.map((row) => row.cachedTokens)).toEqual([0, 4000, 0])
      expect(report.cliffs.map((cliff) => [cliff.sequence, cliff.reason])).toEqual([[3, "cached-collapse"]])
      expect(report.cliffs[0]?.causes).toEqual([])
    }),
  )
})

describe("analyze:cache command", () => {
  const run = (argv: ReadonlyArray<string>, env: Record<string, string> = {}) =>
    Effect.gen(function* () {
      let out = ""
      let err = ""
      const code = yield* runAnalyzeCache(argv, {
        env,
        out: (text) => {
          out += text
        },
        err: (text) => {
          err += text
        },
      })
      return { code, out, err }
    })

  it.live("prints the timeline, the cliffs and the wire context", () =>
    Effect.gen(function* () {
      const dir = yield* dumpSession([base(turns(4)), base(turns(6)), base(turns(8), { instructions: "Changed." })])
      const full = yield* run(["--", "--session", "ses_1", "--dir", dir, "--wire-context", "12"])
      expect(full.code).toBe(0)
      expect(full.err).toBe("")
      expect(full.out).toContain("3 request(s)")
      expect(full.out).toMatch(/#0003 .*<< CLIFF: instructions changed/)
      expect(full.out).toContain("1 cache cliff(s)")
      expect(full.out).toContain("#2 -> #3: first difference at byte 35")
      expect(full.out).toContain('⟦Changed."')
      const quiet = yield* run(["--session=ses_1", `--dir=${dir}`, "--no-timeline"])
      expect(quiet.code).toBe(0)
      expect(quiet.out).not.toContain("█")
      expect(quiet.out).not.toContain("wire context")
      expect(quiet.out).toContain("instructions changed")
    }),
  )

  it.live("resolves the dump dir from the settings environment", () =>
    Effect.gen(function* () {
      const dir = yield* dumpSession([base(turns(2))])
      const result = yield* run(["--session", "ses_1"], {
        OPENCODE_OPENAI_AUTH_DUMP_DIR: dir,
        OPENCODE_OPENAI_AUTH_FILE: join(dir, "absent.json"),
      })
      expect(result.code).toBe(0)
      expect(result.out).toContain("no cache cliffs in 1 request(s)")
    }),
  )

  it.live("bad usage exits 2, nothing found exits 1 with a clear message", () =>
    Effect.gen(function* () {
      const missingArg = yield* run(["--dir", "/nowhere"])
      expect(missingArg.code).toBe(2)
      expect(missingArg.err).toContain("--session <id> is required")
      expect((yield* run(["--session", "x", "--wire-context", "-3"])).code).toBe(2)
      expect((yield* run(["--session", "x", "--bogus"])).err).toContain("unknown argument: --bogus")

      const noDir = yield* run(["--session", "ses_1", "--dir", "/nonexistent/dumps-dir"])
      expect(noDir.code).toBe(1)
      expect(noDir.err).toContain("does not exist")

      const dir = yield* dumpSession([base(turns(2))])
      const wrong = yield* run(["--session", "ses_other", "--dir", dir])
      expect(wrong.code).toBe(1)
      expect(wrong.err).toContain("no dumps for session ses_other")
      expect(wrong.err).toContain("ses_1")

      const empty = mkdtempSync(join(tmpdir(), "analyze-empty-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(empty, { recursive: true, force: true })))
      const none = yield* run(["--session", "ses_1", "--dir", empty])
      expect(none.code).toBe(1)
      expect(none.err).toContain("it holds no sessions")
    }),
  )
})

describe("pure helpers", () => {
  it.effect("commonPrefix agrees with a byte loop at every offset", () =>
    Effect.sync(() => {
      const a = encoder.encode("x".repeat(40))
      for (let i = 0; i <= 40; i++) {
        const b = a.slice()
        if (i < 40) b[i] = 0x79
        expect(commonPrefix(a, b)).toBe(i)
        expect(commonPrefix(a.subarray(1), b.subarray(1))).toBe(i === 0 ? 39 : i - 1)
      }
    }),
  )

  it.effect("parseArgs accepts both flag forms", () =>
    Effect.sync(() => {
      expect(parseArgs(["--session", "s", "--wire-context", "180", "--no-timeline"])).toEqual({
        kind: "ok",
        args: { session: "s", timeline: false, wireContext: 180 },
      })
      expect(parseArgs(["--help"])).toEqual({ kind: "help" })
    }),
  )
})

describe("ordering", () => {
  it.effect("requests are ordered by time first, so a restarted sequence still reads in send order", () =>
    Effect.sync(() => {
      const record = (sequence: number, at: number, text: string) => ({ sequence, at, bytes: encoder.encode(text) })
      const report = analyzeSession([record(1, 3000, "abcdef-3"), record(2, 2000, "abcdef-2"), record(1, 1000, "abc")])
      expect(report.rows.map((row) => row.at)).toEqual([1000, 2000, 3000])
      expect(report.rows.map((row) => row.sharedPrefix)).toEqual([0, 3, 7])
    }),
  )
})
