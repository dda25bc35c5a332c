/**
 * Terminal and input hygiene of `openai-auth`, with real processes: labels and server text reach the
 * terminal with their control characters escaped; labels are checked (length, control characters, `main`,
 * one name per account); `order a a` is refused; `--json` failures print a JSON error object; a `__proto__`
 * key in the store survives a write; and a store path that is a FIFO, a directory or an unreadable file is a
 * clear error at once, while a store file others can read is tightened to 0600 when first read.
 */
import { describe, expect, test } from "bun:test"
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import type { SimAccount } from "@cortexkit/openai-auth-testkit/Simulator"
import { type CliHome, type CliRun, cliSuite, runCli } from "./support/cli.ts"

const suite = cliSuite("oa-cli-hygiene-", { deviceInterval: "0" })
const { cli, printed } = suite
const home = (issuer?: string) => suite.home(issuer)

/** a character a terminal would act on: C0 (but newline and tab), DEL, C1, bidi overrides */
const RAW_CONTROL = {
  test: (text: string) =>
    [...text].some((c) => {
      const code = c.charCodeAt(0)
      return (
        (code <= 0x1f && code !== 0x0a && code !== 0x09) ||
        (code >= 0x7f && code <= 0x9f) ||
        (code >= 0x202a && code <= 0x202e) ||
        (code >= 0x2066 && code <= 0x2069)
      )
    }),
}

const ESC_LABEL = "\u001b]52;c;ZXZpbA==\u0007pwn"
const storeWith = (h: CliHome, doc: Record<string, unknown>) => {
  mkdirSync(dirname(h.config), { recursive: true })
  writeFileSync(h.config, JSON.stringify({ version: 1, ...doc }), { mode: 0o600 })
}
const rawAccount = (account: SimAccount, extra: Record<string, unknown> = {}) => ({
  id: account.accountId,
  userId: account.userId,
  access: account.tokens.access,
  refresh: account.tokens.refresh,
  expiresAt: Date.now() + 3_600_000,
  addedAt: Date.now(),
  ...extra,
})
const noRawControls = (run: CliRun) => {
  expect(RAW_CONTROL.test(run.stdout)).toBe(false)
  expect(RAW_CONTROL.test(run.stderr)).toBe(false)
}

describe("what reaches the terminal", () => {
  test("labels, emails and plans from the store are printed escaped, in tables, summaries and JSON", async () => {
    const h = home()
    const a = suite.sim.addAccount({ accountId: "acct_hy_a" })
    const b = suite.sim.addAccount({ accountId: "acct_hy_b" })
    storeWith(h, {
      accounts: [
        rawAccount(a, { label: ESC_LABEL, email: "\u001b[2Jwiped@example.com", plan: "pro\u0007" }),
        rawAccount(b, { label: "\u202eevil" }),
      ],
    })
    const list = await cli(h, "list")
    expect(list.code).toBe(0)
    noRawControls(list)
    expect(list.stdout).toContain("\\x1b]52;c;ZXZpbA==\\x07pwn")
    expect(list.stdout).toContain("\\u202eevil")
    const json = await cli(h, "list", "--json")
    noRawControls(json)
    // still the label's exact value for a script
    expect(JSON.parse(json.stdout).accounts[1].label).toBe(ESC_LABEL)
    const switched = await cli(h, "switch", ESC_LABEL)
    expect(switched.code).toBe(0)
    noRawControls(switched)
    const unknown = await cli(h, "remove", "\u001b[31mnope")
    expect(unknown.code).toBe(1)
    noRawControls(unknown)
    expect(unknown.stderr).toContain('no account named "\\x1b[31mnope"')
  }, 60_000)

  test("an issuer's error_description with escape sequences is printed escaped", async () => {
    const hostile = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        Response.json(
          { error: "invalid_grant", error_description: "\u001b]0;owned\u0007\u001b[2Jgone" },
          { status: 400 },
        ),
    })
    try {
      const h = home(`http://127.0.0.1:${hostile.port}`)
      const a = suite.sim.addAccount({ accountId: "acct_hy_refused" })
      storeWith(h, { accounts: [rawAccount(a, { label: "refused", expiresAt: Date.now() - 1000 })] })
      const quota = await cli(h, "quota")
      noRawControls(quota)
      expect(`${quota.stdout}${quota.stderr}`).toContain("\\x1b]0;owned\\x07")
    } finally {
      hostile.stop(true)
    }
  }, 60_000)
})

describe("labels", () => {
  test("too long, control characters or `main` are usage errors before any login", async () => {
    const h = home()
    for (const label of ["x".repeat(65), "a\u001bb", "main", "MAIN"]) {
      const run = await cli(h, "login", "--headless", "--label", label)
      expect({ label, code: run.code }).toEqual({ label, code: 2 })
      noRawControls(run)
    }
    expect((await cli(h, "login", "--headless", "--label", "main")).stderr).toContain('"main" names the main account')
    expect(suite.sim.refreshes).toEqual([])
  }, 60_000)

  test("a label another account uses is refused; two accounts sharing one (hand-edited) are an ambiguity", async () => {
    const h = home()
    const a = suite.sim.addAccount({ accountId: "acct_hy_one" })
    const b = suite.sim.addAccount({ accountId: "acct_hy_two" })
    suite.sim.nextLogin(a.accountId)
    expect((await cli(h, "login", "--headless", "--label", "work")).code).toBe(0)
    suite.sim.nextLogin(b.accountId)
    const taken = await cli(h, "login", "--headless", "--label", "work")
    expect(taken.code).toBe(1)
    expect(taken.stderr).toContain('the label "work" is already how account work')
    const doc = JSON.parse(readFileSync(h.config, "utf8"))
    expect(doc.accounts.map((x: { label?: string }) => x.label)).toEqual(["work"])
    // hand-edited: both named work
    storeWith(h, { accounts: [rawAccount(a, { label: "work" }), rawAccount(b, { label: "work" })] })
    const ambiguous = await cli(h, "switch", "work")
    expect(ambiguous.code).toBe(1)
    expect(ambiguous.stderr).toContain('"work" names more than one account')
    expect(JSON.parse(readFileSync(h.config, "utf8")).activeAccount).toBeUndefined()
  }, 60_000)

  test("`order a a` is refused, by the same name or two names of one account", async () => {
    const h = home()
    const a = suite.sim.addAccount({ accountId: "acct_hy_ord_a" })
    const b = suite.sim.addAccount({ accountId: "acct_hy_ord_b" })
    storeWith(h, { accounts: [rawAccount(a, { label: "aa" }), rawAccount(b, { label: "bb" })] })
    const same = await cli(h, "order", "aa", "aa")
    expect(same.code).toBe(2)
    expect(same.stderr).toContain("order swaps two different accounts")
    const aliases = await cli(h, "order", "aa", a.accountId)
    expect(aliases.code).toBe(1)
    expect(aliases.stderr).toContain("order swaps two different accounts")
    expect(JSON.parse(readFileSync(h.config, "utf8")).accounts.map((x: { label: string }) => x.label)).toEqual([
      "aa",
      "bb",
    ])
  }, 60_000)
})

describe("--json failures and unknown keys", () => {
  test("a failure with --json prints one JSON error object on stdout, and one line on stderr", async () => {
    const h = home()
    storeWith(h, {})
    const unknown = await cli(h, "remove", "nope", "--json")
    expect(unknown.code).toBe(1)
    expect(JSON.parse(unknown.stdout)).toEqual({
      error: { code: "UnknownAccount", message: 'no account named "nope"; known accounts: main' },
    })
    expect(unknown.stderr.trim().split("\n")).toHaveLength(1)
    const usage = await cli(h, "routing", "sideways", "--json")
    expect(usage.code).toBe(2)
    expect(JSON.parse(usage.stdout).error.code).toBe("Usage")
    expect(JSON.parse(usage.stdout).error.message).toContain("Usage: openai-auth routing")
  }, 60_000)

  test("`__proto__` keys in the store (top level and in an account) are kept through a write", async () => {
    const h = home()
    const a = suite.sim.addAccount({ accountId: "acct_hy_proto" })
    mkdirSync(dirname(h.config), { recursive: true })
    const account = JSON.stringify(rawAccount(a)).replace(/^\{/, '{"__proto__":{"mine":"account"},')
    writeFileSync(
      h.config,
      `{"version":1,"__proto__":{"mine":"top"},"accounts":[${account}],"killswitch":{"thresholds":{"__proto__":{"fiveHour":1,"weekly":2}}}}`,
      { mode: 0o600 },
    )
    expect((await cli(h, "routing", "fallback-first")).code).toBe(0)
    const text = readFileSync(h.config, "utf8")
    const written = JSON.parse(text)
    expect(written.routing).toBe("fallback-first")
    const own = (o: object) => Object.getOwnPropertyDescriptor(o, "__proto__")?.value
    expect(own(written)).toEqual({ mine: "top" })
    expect(own(written.accounts[0])).toEqual({ mine: "account" })
    expect(Object.hasOwn(written.killswitch.thresholds, "__proto__")).toBe(true)
  }, 60_000)
})

describe("the store path is not a readable file", () => {
  const expectClear = (run: CliRun, words: string) => {
    expect(run.code).toBe(1)
    expect(run.stderr).toContain(words)
    expect(run.stderr).not.toContain(".tmp")
  }

  test("a FIFO: a clear error at once, no hang", async () => {
    const h = home()
    mkdirSync(dirname(h.config), { recursive: true })
    expect(Bun.spawnSync(["mkfifo", h.config]).exitCode).toBe(0)
    const run = await cli(h, "list")
    expectClear(run, "is not a regular file but a FIFO")
    const write = await cli(h, "routing", "fallback-first")
    expectClear(write, "is not a regular file but a FIFO")
  }, 60_000)

  test("a directory: a clear error, never a temp file's name", async () => {
    const h = home()
    mkdirSync(h.config, { recursive: true })
    expectClear(await cli(h, "list"), "is not a regular file but a directory")
    expectClear(await cli(h, "routing", "fallback-first"), "is not a regular file but a directory")
  }, 60_000)

  test("a file this user cannot read: 'permission denied', said so", async () => {
    const h = home()
    storeWith(h, { routing: "fallback-first" })
    chmodSync(h.config, 0o000)
    // root reads anything: without its capabilities it is held to the file's mode like anyone (and, unlike a
    // switch to another user, it can still read a checkout only root may enter, such as one under `mktemp -d`)
    const asRoot = process.getuid?.() === 0
    const prefix = asRoot ? ["setpriv", "--bounding-set=-all", "--inh-caps=-all", "--"] : []
    const env = { ...h.env, OPENCODE_OPENAI_AUTH_LOG_FILE: join(h.dir, "nobody.log") }
    const run = await runCli({ env }, ["list"], prefix)
    printed.push(run.stdout, run.stderr)
    expectClear(run, "permission denied")
  }, 60_000)

  test("a store file others could read is tightened to 0600 when first read", async () => {
    const h = home()
    storeWith(h, {})
    chmodSync(h.config, 0o644)
    expect((await cli(h, "list")).code).toBe(0)
    expect(statSync(h.config).mode & 0o777).toBe(0o600)
  }, 60_000)
})

test("nothing printed held a raw control character or a token", () => {
  for (const text of printed) expect(RAW_CONTROL.test(text)).toBe(false)
  const tokens = suite.sim.accounts().flatMap((a) => [a.tokens.access, a.tokens.refresh])
  for (const text of printed) for (const token of tokens) expect(text.includes(token)).toBe(false)
})
