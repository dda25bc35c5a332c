/**
 * Soak: SOAK_WORKERS real `bun` processes (default 4) run the plugin fetch against one simulator whose tokens
 * live 2 s (so nearly every turn refreshes under the store lock), sharing one store and one `auth.json`, for
 * SOAK_SECONDS (default 60). Meanwhile this process scripts usage limits and quota spikes, and two CLI
 * processes keep editing routing and the killswitch; a poller reads the store every few ms.
 * Held at the end: no lost CLI edit, no refresh token spent twice, no account left needing a re-login, the
 * store always parsed, every worker kept being served, and RSS growth after warm-up below a bound.
 */
import { afterAll, beforeAll, expect, test } from "bun:test"
import { mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { decodeDocument } from "@cortexkit/openai-auth-accounts/StoreSchema"
import { type SimAccount, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Result } from "effect"
import { fallbackAccount, tempDir } from "../../../accounts/test/support/fixture.ts"
import { hostAuthPath } from "../../src/HostAuthFile.ts"
import { runCli } from "../support/cli.ts"

const WORKERS = Number(process.env.SOAK_WORKERS ?? 4)
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60)
const WARM_SECONDS = 15
/** RSS a worker may gain between warm-up and the end (after a full GC each time) */
const RSS_GROWTH_BOUND = 48 * 1024 * 1024
/** live JS heap a worker may gain over the same span: a leak of per-request objects shows here first */
const HEAP_GROWTH_BOUND = 16 * 1024 * 1024
/** the longest a worker may go without a served turn */
const MAX_GAP_MS = 15_000

let sim: SimulatorHandle
const root = tempDir("oa-rel-soak-")
beforeAll(async () => {
  sim = await startSimulator({ expiresIn: 2 })
})
afterAll(async () => {
  await sim.stop()
  root[Symbol.dispose]()
})

interface WorkerReport {
  readonly id: string
  readonly served: number
  readonly gated: number
  readonly statuses: Record<string, number>
  readonly errors: ReadonlyArray<string>
  readonly maxGapMs: number
  readonly warm: { readonly rss: number; readonly heap: number }
  readonly end: { readonly rss: number; readonly heap: number }
}

interface Edit {
  readonly field: "routing" | "killswitch"
  readonly value: string
  readonly start: number
  readonly end: number
  readonly ok: boolean
}

interface Observation {
  /** when the read began */
  readonly at: number
  readonly routing: string
  readonly killswitch: string
}

const random = (min: number, max: number) => min + Math.random() * (max - min)
const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(Math.random() * items.length)] as A

/**
 * Every read that began after edit i finished and before edit i+1 began must show edit i's value; a read
 * overlapping an edit may show the value before or after it. A failed edit may or may not have landed.
 */
const lostUpdates = (edits: ReadonlyArray<Edit>, seen: ReadonlyArray<Observation>, initial: string, end: number) => {
  const field = edits[0]?.field
  const problems: Array<string> = []
  if (field === undefined) return problems
  let allowed = new Set([initial])
  let from = 0
  const check = (until: number, values: ReadonlySet<string>) => {
    for (const o of seen)
      if (o.at >= from && o.at < until && !values.has(o[field]))
        problems.push(`${field}: read ${o[field]} at +${o.at - from} ms, expected ${[...values].join("|")}`)
  }
  for (const edit of edits) {
    check(edit.start, allowed)
    from = edit.start
    const during = new Set([...allowed, edit.value])
    check(edit.end, during)
    from = edit.end
    allowed = edit.ok ? new Set([edit.value]) : during
  }
  check(end, allowed)
  return problems
}

test("the lost-update check sees a reverted edit and accepts a read that overlaps the edit", () => {
  const edits: Array<Edit> = [
    { field: "routing", value: "fallback-first", start: 100, end: 200, ok: true },
    { field: "routing", value: "main-first", start: 300, end: 400, ok: true },
  ]
  const obs = (at: number, routing: string): Observation => ({ at, routing, killswitch: "off" })
  const clean = [obs(50, "main-first"), obs(150, "main-first"), obs(250, "fallback-first"), obs(350, "fallback-first")]
  expect(lostUpdates(edits, clean, "main-first", 500)).toEqual([])
  // a writer holding a stale document put main-first back after the first edit had finished
  expect(lostUpdates(edits, [...clean, obs(260, "main-first")], "main-first", 500)).toHaveLength(1)
  expect(lostUpdates(edits, [obs(450, "fallback-first")], "main-first", 500)).toHaveLength(1)
})

test(`soak: ${WORKERS} processes, one store, ${SECONDS} s of refreshes, fallbacks, killswitch and CLI edits`, async () => {
  const home = join(root.dir, "home")
  const configDir = join(home, "config", "opencode")
  const store = join(configDir, "openai-auth.json")
  const dataDir = join(home, "data")
  const authFile = hostAuthPath({ XDG_DATA_HOME: dataDir })
  const main = sim.addAccount({ accountId: "acct_soak_main" })
  const fallbacks = [sim.addAccount({ accountId: "acct_soak_a" }), sim.addAccount({ accountId: "acct_soak_b" })]
  const all: ReadonlyArray<SimAccount> = [main, ...fallbacks]
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_DATA_HOME: dataDir,
    OPENCODE_OPENAI_AUTH_FILE: store,
    OPENCODE_OPENAI_AUTH_LOG_FILE: join(home, "logs", "openai-auth.log"),
    CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
    CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
    CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
  }
  mkdirSync(configDir, { recursive: true, mode: 0o700 })
  mkdirSync(dirname(authFile), { recursive: true, mode: 0o700 })
  writeFileSync(
    authFile,
    JSON.stringify({
      openai: { type: "oauth", access: main.tokens.access, refresh: main.tokens.refresh, expires: Date.now() + 2000 },
    }),
    { mode: 0o600 },
  )
  const raw = (a: SimAccount) => ({ ...fallbackAccount(a), access: a.tokens.access, refresh: a.tokens.refresh })
  writeFileSync(
    store,
    JSON.stringify({
      version: 1,
      routing: "main-first",
      accounts: fallbacks.map(raw),
      killswitch: { enabled: false, thresholds: { "*": { fiveHour: 20, weekly: 5 } } },
    }),
    { mode: 0o600 },
  )

  const started = Date.now()
  const deadline = started + SECONDS * 1000
  const workers = Array.from({ length: WORKERS }, (_, i) => {
    const proc = Bun.spawn(["bun", join(import.meta.dir, "soak-worker.ts")], {
      env: {
        ...env,
        SOAK_WORKER: String(i),
        SOAK_MS: String(SECONDS * 1000),
        SOAK_WARM_MS: String(WARM_SECONDS * 1000),
      },
      stdout: "pipe",
      stderr: "pipe",
    })
    return Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited])
  })

  // the poller: every read must parse and decode; it also records what routing and the killswitch said
  const seen: Array<Observation> = []
  const badReads: Array<string> = []
  let reloginSeen = ""
  let polling = true
  const poller = (async () => {
    while (polling) {
      const at = Date.now()
      const text = readFileSync(store, "utf8")
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        badReads.push(`unparsable (${text.length} bytes): ${text.slice(0, 80)}`)
      }
      if (parsed !== undefined) {
        const doc = decodeDocument(parsed, at)
        if (Result.isFailure(doc)) badReads.push(`undecodable: ${doc.failure}`)
        else {
          const d = doc.success
          seen.push({ at, routing: d.routing, killswitch: d.killswitch.enabled ? "on" : "off" })
          const relogin = [d.main?.state, ...d.accounts.map((a) => a.state)].includes("needs-relogin")
          if (relogin && reloginSeen === "") reloginSeen = text
        }
      }
      await Bun.sleep(3)
    }
  })()

  const cli = async (...args: Array<string>) => {
    const run = await runCli({ env }, args)
    return { out: run.stdout, err: run.stderr, code: run.code }
  }
  const edits: Record<Edit["field"], Array<Edit>> = { routing: [], killswitch: [] }
  const cliFailures: Array<string> = []
  const editor = async (field: Edit["field"], values: ReadonlyArray<string>) => {
    while (Date.now() < deadline - 3000) {
      await Bun.sleep(random(200, 1500))
      const value = pick(values)
      const start = Date.now()
      const result = await cli(field, value)
      const ok = result.code === 0
      if (!ok) cliFailures.push(`${field} ${value}: ${result.code} ${result.err.trim()}`)
      edits[field].push({ field, value, start, end: Date.now(), ok })
    }
  }

  // usage limits on the account that serves first, and short quota spikes the killswitch gates on
  let usageLimits = 0
  let spikes = 0
  const chaos = async () => {
    while (Date.now() < deadline - 5000) {
      await Bun.sleep(random(500, 2500))
      if (Math.random() < 0.5) {
        const routing = seen.at(-1)?.routing ?? "main-first"
        const first = routing === "main-first" ? main : (fallbacks[0] as SimAccount)
        sim.script(first.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 2 } })
        usageLimits++
      } else {
        const target = pick(all)
        sim.setQuota(target.accountId, { primaryUsedPercent: 90, primaryResetAfterSeconds: 3 })
        spikes++
        setTimeout(
          () => sim.setQuota(target.accountId, { primaryUsedPercent: 10, primaryResetAfterSeconds: 18000 }),
          3000,
        )
      }
    }
  }

  await Promise.all([editor("routing", ["main-first", "fallback-first"]), editor("killswitch", ["on", "off"]), chaos()])
  const outputs = await Promise.all(workers)
  polling = false
  await poller
  const ended = Date.now()

  const reports: Array<WorkerReport> = outputs.map(([out, err, code], i) => {
    const line = out.trim().split("\n").at(-1) ?? ""
    if (code !== 0 || !line.startsWith("{")) throw new Error(`worker ${i} exited ${code}: ${err.slice(-2000)}`)
    return JSON.parse(line) as WorkerReport
  })

  // zero lost updates, in order; the store ends with the last value written
  const finalDoc = decodeDocument(JSON.parse(readFileSync(store, "utf8")), Date.now())
  if (Result.isFailure(finalDoc)) throw new Error(finalDoc.failure)
  const lost = [
    ...lostUpdates(edits.routing, seen, "main-first", ended),
    ...lostUpdates(edits.killswitch, seen, "off", ended),
  ]
  expect(lost.slice(0, 5)).toEqual([])
  const lastOk = (field: Edit["field"]) => edits[field].filter((e) => e.ok).at(-1)?.value
  expect(finalDoc.success.routing as string).toBe(lastOk("routing") ?? "main-first")
  expect(finalDoc.success.killswitch.enabled ? "on" : "off").toBe(lastOk("killswitch") ?? "off")
  expect(cliFailures).toEqual([])

  // zero burnt refresh tokens, nobody logged out
  const outcomes: Record<string, number> = {}
  for (const r of sim.refreshes) outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1
  expect(outcomes.reused ?? 0).toBe(0)
  expect(Object.keys(outcomes)).toEqual(["ok"])
  expect(reloginSeen).toBe("")
  expect(finalDoc.success.main?.state ?? "active").toBe("active")
  expect(finalDoc.success.accounts.map((a) => a.state)).toEqual(["active", "active"])

  // the store always parsed
  expect(badReads.slice(0, 3)).toEqual([])
  expect(seen.length).toBeGreaterThan(SECONDS * 50)

  // every worker kept being served; the only refusals are the gates the chaos asked for
  for (const r of reports) {
    expect({ id: r.id, errors: r.errors }).toEqual({ id: r.id, errors: [] })
    expect(r.served).toBeGreaterThan(SECONDS / 2)
    expect(r.maxGapMs).toBeLessThan(MAX_GAP_MS)
  }

  // bounded memory
  const growth = reports.map((r) => r.end.rss - r.warm.rss)
  const heapGrowth = reports.map((r) => r.end.heap - r.warm.heap)
  for (const g of growth) expect(g).toBeLessThan(RSS_GROWTH_BOUND)
  for (const g of heapGrowth) expect(g).toBeLessThan(HEAP_GROWTH_BOUND)

  if (process.env.SOAK_VERBOSE) console.log(JSON.stringify(reports, null, 1), JSON.stringify(edits))
  const served = reports.reduce((n, r) => n + r.served, 0)
  const gated = reports.reduce((n, r) => n + r.gated, 0)
  const codex = sim.requests.filter((r) => r.path.endsWith("/codex/responses"))
  const limitAnswers = codex.filter((r) => r.status === 429).length
  const byAccount = all.map(
    (a) => `${a.accountId.slice(10)} ${codex.filter((r) => r.accountId === a.accountId && r.status === 200).length}`,
  )
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1)
  console.log(
    `[soak] ${WORKERS} workers x ${((ended - started) / 1000).toFixed(0)} s: ${served} turns served (${byAccount.join(", ")}), ` +
      `${gated} gated 429s to the caller; ${sim.refreshes.length} refreshes (0 reused); ${limitAnswers} usage-limit answers ` +
      `fell back (${usageLimits} scripted, ${spikes} quota spikes); edits: routing ${edits.routing.length}, ` +
      `killswitch ${edits.killswitch.length}, 0 lost; store read ${seen.length} times, 0 bad; max gap ` +
      `${Math.max(...reports.map((r) => r.maxGapMs))} ms; growth after warm-up: RSS max ${mb(Math.max(...growth))} MB (bound ${mb(RSS_GROWTH_BOUND)}), ` +
      `heap max ${mb(Math.max(...heapGrowth))} MB (bound ${mb(HEAP_GROWTH_BOUND)}); end RSS max ` +
      `${mb(Math.max(...reports.map((r) => r.end.rss)))} MB`,
  )
}, 240_000)
