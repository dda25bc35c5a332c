/**
 * Security promises, checked on real artifacts: the OAuth callback binds the loopback addresses only, refuses
 * a wrong `state` or a stray `/cancel` without ending the login, and closes after use; the store, state, log and dump files are 0600 in 0700 directories; no token,
 * refresh token or id token the simulator minted appears in any log, dump, store-adjacent file, CLI output
 * or error message; dumps are off by default and their README says they hold prompts.
 */
import { expect, test } from "bun:test"
import { appendFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { README_NAME, readmeText } from "@cortexkit/openai-auth-accounts/Dumps"
import { STATE_FILE_NAME } from "@cortexkit/openai-auth-accounts/StateFile"
import { listen } from "@cortexkit/openai-auth-core/CallbackServer"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { MAX_LOG_BYTES } from "@cortexkit/openai-auth-core/Logger"
import { resolveSettings } from "@cortexkit/openai-auth-core/Settings"
import { Effect, Exit, Fiber, Layer, Result, Scope } from "effect"
import { fallbackAccount, hostRequest, simulatorSuite } from "../../../accounts/test/support/fixture.ts"
import { HostAuthFile, hostAuthPath } from "../../src/HostAuthFile.ts"
import { openCodeSettings } from "../../src/OpenCodeHost.ts"
import { makeFetch } from "../../src/Pipeline.ts"
import { makeRuntime } from "../../src/Runtime.ts"
import { runCli } from "../support/cli.ts"

const suite = simulatorSuite("oa-rel-security-", "[security]")
const { held } = suite

/** every LISTEN socket on `port`, with its local address, from /proc/net/tcp{,6} */
const listeners = (port: number): Array<string> => {
  const hex = port.toString(16).toUpperCase().padStart(4, "0")
  const out: Array<string> = []
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = ""
    try {
      text = readFileSync(file, "utf8")
    } catch {
      continue
    }
    for (const line of text.split("\n").slice(1)) {
      const cols = line.trim().split(/\s+/)
      const [addr, p] = (cols[1] ?? "").split(":")
      if (p === hex && cols[3] === "0A") out.push(addr ?? "")
    }
  }
  return out
}

// 127.0.0.1 and ::1 as /proc's little-endian hex; never 0.0.0.0, ::, or any other address
const LOOPBACK = new Set(["0100007F", "00000000000000000000000001000000"])

test("OAuth callback: loopback only, wrong state and stray /cancel refused without ending the login, closed after use", async () => {
  const program = Effect.gen(function* () {
    const scope = yield* Scope.make()
    const listener = yield* listen({ state: "state_right", ports: [0] }).pipe(Scope.provide(scope))
    const port = listener.port
    const bound = listeners(port)
    expect(bound.length).toBeGreaterThan(0)
    for (const addr of bound) expect(LOOPBACK.has(addr)).toBe(true)
    const codeFiber = yield* Effect.forkChild(Effect.exit(listener.code))
    const status = (path: string) =>
      Effect.promise(() => fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.status))
    const wrong = yield* status("/auth/callback?code=c1&state=state_wrong")
    const cancel = yield* status("/cancel")
    expect([wrong, cancel]).toEqual([400, 400])
    expect(codeFiber.pollUnsafe()).toBeUndefined()
    expect(yield* status("/auth/callback?code=c2&state=state_right")).toBe(200)
    const exit = yield* Fiber.join(codeFiber)
    expect(Exit.isSuccess(exit) && exit.value).toBe("c2")
    yield* Scope.close(scope, Exit.void)
    const after = yield* Effect.promise(() =>
      fetch(`http://127.0.0.1:${port}/auth/callback?code=c1&state=state_right`).then(
        () => "answered",
        () => "refused",
      ),
    )
    expect(after).toBe("refused")
    expect(listeners(port)).toEqual([])
    held.push(
      `callback: bound ${bound.map((a) => (a.length > 8 ? "[::1]" : "127.0.0.1")).join(" + ")} only; wrong state -> ${wrong}, stray /cancel -> ${cancel}, login went on and took the right code; after close -> ${after}`,
    )
  })
  await Effect.runPromise(program)
})

test("dumps are off by default, and the dump README says they hold prompts", () => {
  const resolved = resolveSettings(openCodeSettings({}), undefined, { tmpDir: "/tmp", homeDir: "/home/x" })
  if (Result.isFailure(resolved)) throw new Error(resolved.failure.message)
  expect(resolved.success.dump).toBe(false)
  expect(readmeText("CORTEXKIT_OPENAI_AUTH_DUMP")).toMatch(/FULL PROMPTS/)
  held.push("dumps: off by default; README says FULL PROMPTS")
})

const modeOf = (path: string) => statSync(path).mode & 0o777

/** every file under `dir`, recursively */
const walk = (dir: string): Array<string> =>
  safeList(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })
const dirsUnder = (dir: string): Array<string> =>
  safeList(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? [path, ...dirsUnder(path)] : []
  })

/**
 * The issuer behind a recording proxy, so every token set a refresh mints (access, refresh and id token) is
 * known to the scan, not only the ones the simulator minted up front.
 */
const recordingIssuer = (target: string, minted: Set<string>) =>
  Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: async (request) => {
      const url = new URL(request.url)
      const body = request.method === "GET" ? undefined : await request.arrayBuffer()
      const headers = new Headers(request.headers)
      headers.delete("host")
      const answer = await fetch(`${target}${url.pathname}${url.search}`, { method: request.method, headers, body })
      const bytes = await answer.arrayBuffer()
      if (url.pathname === "/oauth/token") {
        try {
          const json = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
          for (const key of ["access_token", "refresh_token", "id_token"])
            if (typeof json[key] === "string") minted.add(json[key] as string)
        } catch {
          // an error body holds no token
        }
      }
      return new Response(bytes, { status: answer.status, headers: answer.headers })
    },
  })

const API_KEY = "sk-proj-SoakSecretKey0123456789abcdef"
// shapes of a secret, whoever minted it: a JWT, a simulator refresh token, an API key
const SHAPES = [/eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}/, /rt_sim_[A-Za-z0-9]{6,}/, /sk-[A-Za-z0-9_-]{8,}/]

test("served, refreshed, refused and failed turns with logs, dumps and the CLI: 0600/0700, no secret anywhere", async () => {
  const minted = new Set<string>()
  const issuer = recordingIssuer(suite.sim.url, minted)
  const home = join(suite.root, "home")
  const configDir = join(home, "config", "opencode")
  const config = join(configDir, "openai-auth.json")
  const dataDir = join(home, "data")
  const authFile = hostAuthPath({ XDG_DATA_HOME: dataDir })
  const logDir = join(home, "logs")
  const logFile = join(logDir, "openai-auth.log")
  const dumpDir = join(home, "dumps")
  const main = suite.sim.addAccount({ accountId: "acct_sec_main", userId: "user_sec_main" })
  const fbA = suite.sim.addAccount({ accountId: "acct_sec_a", userId: "user_sec_a" })
  const fbB = suite.sim.addAccount({ accountId: "acct_sec_b", userId: "user_sec_b" })
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    XDG_CONFIG_HOME: join(home, "config"),
    XDG_DATA_HOME: dataDir,
    OPENAI_API_KEY: API_KEY,
    OPENCODE_OPENAI_AUTH_FILE: config,
    OPENCODE_OPENAI_AUTH_LOG_FILE: logFile,
    OPENCODE_OPENAI_AUTH_LOG_LEVEL: "trace",
    OPENCODE_OPENAI_AUTH_DUMP_DIR: dumpDir,
    CORTEXKIT_OPENAI_AUTH_DUMP: "1",
    CORTEXKIT_OPENAI_AUTH_ISSUER: issuer.url.origin,
    CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: suite.sim.usageEndpoint,
    CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: suite.sim.codexEndpoint,
  }
  // OpenCode's auth.json and our store, as a logged-in user has them; every token already expired so each
  // account refreshes on first use, and B's refresh is refused
  mkdirSync(configDir, { recursive: true, mode: 0o700 })
  mkdirSync(dirname(authFile), { recursive: true, mode: 0o700 })
  const expired = Date.now() - 1000
  const raw = (a: typeof fbA) => ({
    ...fallbackAccount(a, { expiresAt: expired }),
    access: a.tokens.access,
    refresh: a.tokens.refresh,
  })
  writeFileSync(
    authFile,
    JSON.stringify({
      openai: { type: "oauth", access: main.tokens.access, refresh: main.tokens.refresh, expires: expired },
    }),
    { mode: 0o600 },
  )
  writeFileSync(config, JSON.stringify({ version: 1, routing: "fallback-first", accounts: [raw(fbA), raw(fbB)] }), {
    mode: 0o600,
  })
  suite.sim.scriptRefresh(fbB.accountId, { kind: "invalidated" })
  const mainLayer = HostAuthFile.layerAt(authFile).pipe(Layer.provide(Files.layer))
  const errors: Array<string> = []
  const statuses: Array<number> = []
  const turn = async (fetchFn: ReturnType<typeof makeFetch>, i: number) => {
    const response = await fetchFn("https://api.openai.com/v1/responses", {
      method: "POST",
      headers: { "content-type": "application/json", "session-id": `ses_sec_${i}`, authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify(hostRequest(`ses_sec_${i}`).body),
    })
    const text = await response.text()
    statuses.push(response.status)
    if (response.status >= 400) errors.push(text)
  }

  // first process: A refreshes and serves; the log file and its directory are the product's own
  const first = makeRuntime(env, mainLayer)
  await turn(makeFetch(first), 0)
  await first.dispose()
  // push the log to the edge of its 5 MiB limit so the next process rotates it
  const size = statSync(logFile).size
  const fill = MAX_LOG_BYTES - size - 50
  appendFileSync(logFile, `${`${"x".repeat(199)}\n`.repeat(Math.floor(fill / 200))}${"x".repeat((fill % 200) - 1)}\n`)

  const second = makeRuntime(env, mainLayer)
  const fetchFn = makeFetch(second)
  // A hits its usage limit -> B's refresh is refused (needs re-login) -> main refreshes and serves
  suite.sim.script(fbA.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 600 } })
  await turn(fetchFn, 1)
  // main answers 401 -> one refresh after the rejection, then a 400 that reaches the caller
  suite.sim.script(main.accountId, { fault: { kind: "status", status: 401 } })
  suite.sim.script(main.accountId, {
    fault: { kind: "status", status: 400, body: { error: { message: "bad request" } } },
  })
  await turn(fetchFn, 2)
  await second.dispose()
  // dumps are written off the hot path: wait for them boundedly
  for (let i = 0; i < 100 && walk(dumpDir).filter((f) => f.endsWith(".meta.json")).length < 2; i++) await Bun.sleep(20)

  const cli = async (...args: Array<string>) => {
    const run = await runCli({ env }, args)
    return { args: args.join(" "), out: run.stdout, err: run.stderr, code: run.code }
  }
  const runs = [
    await cli("list"),
    await cli("list", "--json"),
    await cli("quota", "--json"),
    await cli("remove", "nope"),
    await cli("killswitch", "set", "bad"),
  ]
  issuer.stop(true)

  const refreshOutcomes = suite.sim.refreshes.map((r) => r.outcome)
  expect(refreshOutcomes).toContain("ok")
  expect(refreshOutcomes).toContain("invalidated")
  expect(statuses).toEqual([200, 200, 400])
  expect(runs.map((r) => r.code)).toEqual([0, 0, 0, 1, 2])
  expect(JSON.parse(runs[1]?.out ?? "")).toBeDefined()

  // modes: every file the plugin wrote is 0600, every directory it made 0700
  const logs = safeList(logDir).map((f) => join(logDir, f))
  expect(logs.map((f) => f.slice(logDir.length + 1)).sort()).toEqual(["openai-auth.log", "openai-auth.log.1"])
  const dumps = walk(dumpDir)
  const stateFile = join(configDir, STATE_FILE_NAME)
  const files = [config, stateFile, authFile, ...logs, ...dumps]
  for (const file of files) expect({ file, mode: modeOf(file).toString(8) }).toEqual({ file, mode: "600" })
  for (const file of walk(configDir)) expect({ file, mode: modeOf(file).toString(8) }).toEqual({ file, mode: "600" })
  // nothing left beside the store: no temp file (they hold tokens), no lock, no lock moved aside
  expect(safeList(configDir).sort()).toEqual(["openai-auth-state.json", "openai-auth.json"])
  const dirs = [logDir, dumpDir, ...dirsUnder(dumpDir)]
  for (const dir of dirs) expect({ dir, mode: modeOf(dir).toString(8) }).toEqual({ dir, mode: "700" })
  expect(readFileSync(join(dumpDir, README_NAME), "utf8")).toContain("FULL PROMPTS")
  expect(dumps.filter((f) => f.endsWith(".body.json")).length).toBeGreaterThanOrEqual(2)

  // secrets: every secret the simulator issued, whatever its shape (tokens, authorization codes, device
  // verifiers), plus what the proxy saw minted and every Bearer presented to the backend
  const issued = suite.sim.issuedSecrets()
  expect([...minted].every((m) => issued.includes(m))).toBe(true)
  const secrets = new Set<string>([API_KEY, ...minted, ...issued])
  for (const a of suite.sim.accounts())
    for (const s of [a.tokens.access, a.tokens.refresh, a.tokens.idToken]) secrets.add(s)
  for (const r of suite.sim.refreshes) secrets.add(r.refreshToken)
  for (const r of suite.sim.requests) {
    const auth = r.headers.authorization
    if (auth?.startsWith("Bearer ")) secrets.add(auth.slice(7))
  }
  const artifacts: Array<[string, string]> = [
    ...logs.map((f): [string, string] => [f.slice(home.length), safeRead(f)]),
    [stateFile.slice(home.length), safeRead(stateFile)],
    ...dumps.map((f): [string, string] => [f.slice(home.length), safeRead(f)]),
    ...runs.flatMap(
      (r): Array<[string, string]> => [
        [`cli ${r.args} stdout`, r.out],
        [`cli ${r.args} stderr`, r.err],
      ],
    ),
    ...errors.map((e, i): [string, string] => [`error response ${i}`, e]),
  ]
  const leaks: Array<string> = []
  for (const [name, text] of artifacts) {
    for (const s of secrets) if (text.includes(s)) leaks.push(`${name}: a minted secret`)
    for (const shape of SHAPES) if (shape.test(text)) leaks.push(`${name}: ${shape.source}`)
  }
  // the store and auth.json hold tokens by design; never an API key
  for (const file of [config, authFile]) if (safeRead(file).includes(API_KEY)) leaks.push(`${file}: the API key`)
  expect(leaks).toEqual([])
  // the scanner does see tokens where they legitimately are: the store holds the fallbacks' current ones
  const store = safeRead(config)
  expect([...secrets].some((s) => store.includes(s)) && SHAPES.slice(0, 2).every((shape) => shape.test(store))).toBe(
    true,
  )
  expect(artifacts.find(([name]) => name.endsWith(".log"))?.[1]).toContain("request served")
  const bytes = artifacts.reduce((n, [, t]) => n + t.length, 0)
  held.push(
    `modes: ${files.length} files 0600, ${dirs.length} dirs 0700 (log rotated once); refreshes ${refreshOutcomes.join(",")}; ` +
      `scanned ${artifacts.length} artifacts (${(bytes / 1e6).toFixed(1)} MB) for ${secrets.size} secrets (${issued.length} the simulator issued, whatever their shape) + 3 shapes: 0 found`,
  )
}, 60_000)

const safeList = (dir: string) => {
  try {
    return readdirSync(dir)
  } catch {
    return []
  }
}
const safeRead = (file: string) => {
  try {
    return readFileSync(file, "utf8")
  } catch {
    return ""
  }
}
