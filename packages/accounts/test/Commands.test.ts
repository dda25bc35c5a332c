import { afterAll, describe, expect, test } from "bun:test"
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Effect, Layer, Redacted } from "effect"
import { parseCommand } from "../src/CommandSyntax.ts"
import { Commands, runCommand } from "../src/Commands.ts"
import { FileLock } from "../src/FileLock.ts"
import { Store } from "../src/Store.ts"

const root = mkdtempSync(join(tmpdir(), "oa-commands-"))
afterAll(() => rmSync(root, { recursive: true, force: true }))
let n = 0
const freshPath = (initial?: unknown) => {
  const path = join(root, `case-${++n}`, "openai-auth.json")
  mkdirSync(join(path, ".."), { recursive: true })
  if (initial !== undefined) writeFileSync(path, JSON.stringify(initial))
  return path
}
const onDisk = (path: string) => JSON.parse(readFileSync(path, "utf8"))

const layerFor = (path: string) =>
  Commands.layer.pipe(
    Layer.provideMerge(Store.layerAt(path, { lock: { timeoutMs: 2_000 } })),
    Layer.provide(FileLock.layer),
    Layer.provide(Files.layer),
  )

const run = <A, E>(path: string, body: Effect.Effect<A, E, Commands | Store>) =>
  Effect.runPromise(body.pipe(Effect.provide(layerFor(path))) as Effect.Effect<A, E, never>)

const fail = <A, E>(path: string, body: Effect.Effect<A, E, Commands | Store>) =>
  Effect.runPromise(Effect.flip(body).pipe(Effect.provide(layerFor(path))) as Effect.Effect<E, A, never>)

const tokens = (accountId: string, extra: Partial<ConstructorParameters<typeof TokenSet>[0]> = {}) =>
  new TokenSet({
    access: Redacted.make(`access-${accountId}-${n}`),
    refresh: Redacted.make(`refresh-${accountId}-${n}`),
    expiresAt: Date.now() + 3_600_000,
    accountId,
    userId: `user-${accountId}`,
    plan: "plus",
    email: `${accountId}@example.com`,
    ...extra,
  })

const withCommands = <A, E>(f: (c: Commands["Service"]) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    return yield* f(yield* Commands)
  })

const cmd = (name: string, ...args: Array<string>) => {
  const parsed = parseCommand(name, args)
  if (!parsed.ok) throw new Error(parsed.error)
  return runCommand(parsed.command)
}

const withTwo = (path: string) =>
  Effect.gen(function* () {
    const c = yield* Commands
    yield* c.addAccount(tokens("acct_a"), "work")
    yield* c.addAccount(tokens("acct_b"), "home")
  }).pipe((e) => run(path, e))

const NOW = Date.now()
const quota = (fiveHourUsed: number, weeklyUsed: number, extra: { limitReached?: boolean } = {}) => ({
  observedAt: NOW,
  source: "usage",
  fiveHour: { usedPercent: fiveHourUsed, windowMinutes: 300, resetsAt: NOW + 3_600_000 },
  weekly: { usedPercent: weeklyUsed, windowMinutes: 10080, resetsAt: NOW + 90_000_000 },
  otherWindows: [],
  additional: [],
  ...extra,
})

describe("Commands: accounts", () => {
  test("add stores a fallback with its identity; adding again updates in place and clears needs-relogin", async () => {
    const path = freshPath()
    const first = await run(
      path,
      withCommands((c) => c.addAccount(tokens("acct_a"), "work")),
    )
    expect(first.data.added).toBe(true)
    expect(first.summary).toContain("added fallback account work")
    await run(
      path,
      withCommands((c) => c.addAccount(tokens("acct_b"))),
    )
    // the first account needs a re-login, then logs in again without a label
    const disk = onDisk(path)
    disk.accounts[0].state = "needs-relogin"
    disk.accounts[0].needsReloginReason = "RefreshTokenReused"
    writeFileSync(path, JSON.stringify(disk))
    const again = await run(
      path,
      withCommands((c) => c.addAccount(tokens("acct_a", { access: Redacted.make("new-access") }))),
    )
    expect(again.data.added).toBe(false)
    expect(again.summary).toContain("updated fallback account work")
    const after = onDisk(path)
    expect(after.accounts.map((a: { id: string }) => a.id)).toEqual(["acct_a", "acct_b"])
    expect(after.accounts[0]).toMatchObject({
      label: "work",
      state: "active",
      access: "new-access",
      userId: "user-acct_a",
    })
    expect(after.accounts[0].needsReloginReason).toBeUndefined()
    // the summary names the account but never a token
    expect(again.summary).not.toContain("new-access")
  })

  test("two users of one workspace are two accounts", async () => {
    const path = freshPath()
    await run(
      path,
      Effect.gen(function* () {
        const c = yield* Commands
        yield* c.addAccount(tokens("acct_team", { userId: "alice" }), "alice")
        yield* c.addAccount(tokens("acct_team", { userId: "bob" }), "bob")
      }),
    )
    expect(onDisk(path).accounts.map((a: { userId: string }) => a.userId)).toEqual(["alice", "bob"])
    // the bare id is ambiguous, the key and the label are not
    const error = await fail(path, cmd("account", "switch", "acct_team"))
    expect(error._tag).toBe("AmbiguousAccount")
    expect((error as { message: string }).message).toContain("names more than one account")
    await run(path, cmd("account", "switch", "acct_team/bob"))
    expect(onDisk(path).activeAccount).toBe("acct_team/bob")
    await run(path, cmd("account", "switch", "alice"))
    expect(onDisk(path).activeAccount).toBe("acct_team/alice")
  })

  test("a label two accounts share is an ambiguity, never the first of them; a new one cannot take a used name", async () => {
    const path = freshPath()
    await run(
      path,
      withCommands((c) =>
        Effect.gen(function* () {
          yield* c.addAccount(tokens("acct_one"), "work")
          yield* c.addAccount(tokens("acct_two"), "home")
        }),
      ),
    )
    // another account may not take a label (or an id) already in use; the same account may keep its own
    const taken = await fail(
      path,
      withCommands((c) => c.addAccount(tokens("acct_three"), "work")),
    )
    expect(taken).toMatchObject({ _tag: "CommandRefused" })
    expect((taken as { message: string }).message).toContain('the label "work" is already how account work')
    expect(
      (
        await fail(
          path,
          withCommands((c) => c.addAccount(tokens("acct_three"), "acct_one")),
        )
      )._tag,
    ).toBe("CommandRefused")
    await run(
      path,
      withCommands((c) => c.addAccount(tokens("acct_one"), "work")),
    )
    // a hand-edited store with the label twice
    const disk = onDisk(path)
    disk.accounts[1].label = "work"
    writeFileSync(path, JSON.stringify(disk))
    const ambiguous = await fail(path, cmd("account", "remove", "work"))
    expect(ambiguous).toMatchObject({ _tag: "AmbiguousAccount", name: "work" })
    expect(onDisk(path).accounts).toHaveLength(2)
  })

  test("order of one account with itself is refused, however it is named", async () => {
    const path = freshPath()
    await withTwo(path)
    const refused = await fail(path, cmd("account", "order", "work", "acct_a"))
    expect(refused).toMatchObject({ _tag: "CommandRefused" })
    expect((refused as { message: string }).message).toContain("two different accounts")
  })

  test("list shows main and fallbacks with their states", async () => {
    const path = freshPath()
    await withTwo(path)
    await run(
      path,
      withCommands((c) => c.addAccount(tokens("acct_c"), "spare")),
    )
    const disk = onDisk(path)
    disk.accounts[0].state = "needs-relogin"
    disk.accounts[1].exhaustedUntil = NOW + 3_600_000
    disk.quota = { main: quota(97, 20), "acct_c/user-acct_c": quota(10, 10) }
    disk.killswitch = { enabled: true, thresholds: { main: { fiveHour: 5, weekly: 10 } } }
    writeFileSync(path, JSON.stringify(disk))
    const list = await run(path, cmd("account"))
    const data = list.data as { accounts: Array<{ key: string; state: string; quotaKnown: boolean; label?: string }> }
    expect(data.accounts.map((a) => [a.key, a.state, a.quotaKnown])).toEqual([
      ["main", "killswitch", true],
      ["acct_a/user-acct_a", "needs-relogin", false],
      ["acct_b/user-acct_b", "exhausted", false],
      ["acct_c/user-acct_c", "active", true],
    ])
    expect(list.summary).toContain("main killswitch: 5h 3% left < 5%")
    expect(list.summary).toContain("work needs re-login")
  })

  test("switch by id, label or key; main switches back; never touches the accounts", async () => {
    const path = freshPath()
    await withTwo(path)
    const before = onDisk(path).accounts
    const result = await run(path, cmd("account", "switch", "acct_b"))
    expect(result.summary).toContain("switched to acct_b")
    expect(onDisk(path).activeAccount).toBe("acct_b/user-acct_b")
    await run(path, cmd("account", "switch", "work"))
    expect(onDisk(path).activeAccount).toBe("acct_a/user-acct_a")
    const back = await run(path, cmd("account", "switch", "main"))
    expect(back.summary).toBe("switched back to the main account")
    expect(onDisk(path).activeAccount).toBe("main")
    expect(onDisk(path).accounts).toEqual(before)
  })

  test("an unknown name fails with the known names and writes nothing", async () => {
    const path = freshPath()
    await withTwo(path)
    const bytes = readFileSync(path, "utf8")
    const error = await fail(path, cmd("account", "switch", "nobody"))
    expect(error).toMatchObject({ _tag: "UnknownAccount", name: "nobody" })
    expect((error as { message: string }).message).toBe(
      'no account named "nobody"; known accounts: main, work (acct_a/user-acct_a), home (acct_b/user-acct_b)',
    )
    expect(await fail(path, cmd("account", "remove", "nobody"))).toMatchObject({ _tag: "UnknownAccount" })
    expect(await fail(path, cmd("killswitch", "set", "nobody:5,10"))).toMatchObject({ _tag: "UnknownAccount" })
    expect(readFileSync(path, "utf8")).toBe(bytes)
  })

  test("remove drops the account, its quota and a switch to it; main cannot be removed", async () => {
    const path = freshPath()
    await withTwo(path)
    const disk = onDisk(path)
    disk.quota = { "acct_a/user-acct_a": quota(1, 1), main: quota(2, 2) }
    disk.activeAccount = "acct_a/user-acct_a"
    writeFileSync(path, JSON.stringify(disk))
    const removed = await run(path, cmd("account", "remove", "work"))
    expect(removed.summary).toBe("removed fallback account work")
    const after = onDisk(path)
    expect(after.accounts.map((a: { id: string }) => a.id)).toEqual(["acct_b"])
    expect(Object.keys(after.quota)).toEqual(["main"])
    expect(after.activeAccount).toBeUndefined()
    expect(await fail(path, cmd("account", "remove", "main"))).toMatchObject({ _tag: "CommandRefused" })
  })

  test("order swaps two fallbacks", async () => {
    const path = freshPath()
    await withTwo(path)
    await run(
      path,
      withCommands((c) => c.addAccount(tokens("acct_c"), "spare")),
    )
    const result = await run(path, cmd("account", "order", "work", "acct_c"))
    expect(onDisk(path).accounts.map((a: { id: string }) => a.id)).toEqual(["acct_c", "acct_b", "acct_a"])
    expect(result.summary).toContain("fallback order")
    expect(await fail(path, cmd("account", "order", "main", "work"))).toMatchObject({ _tag: "CommandRefused" })
  })

  test("account add without a login flow is refused", async () => {
    const path = freshPath()
    expect(await fail(path, cmd("account", "add"))).toMatchObject({ _tag: "CommandRefused" })
  })
})

describe("Commands: settings", () => {
  const userSettings = { webSockets: "yes", codexApiEndpoint: "http://127.0.0.1:1/x", futureKey: { keep: [1, 2] } }

  test("every setter persists, shows, and keeps the user's settings and unknown keys", async () => {
    const path = freshPath(userSettings)
    await withTwo(path)
    expect((await run(path, cmd("routing", "fallback-first"))).summary).toBe("routing set to fallback-first")
    expect((await run(path, cmd("routing"))).summary).toBe("routing: fallback-first")
    await run(path, cmd("killswitch", "on"))
    const set = await run(path, cmd("killswitch", "set", "main:5,10", "home:2,3", "*:1,1"))
    expect(set.summary).toContain("killswitch on")
    expect((await run(path, cmd("cachekeep", "on"))).summary).toContain("cache keep-warm on, subagents off")
    expect((await run(path, cmd("cachekeep", "subagents", "on"))).summary).toContain("subagents on")
    expect((await run(path, cmd("logging", "debug"))).summary).toBe("log level set to debug")
    expect((await run(path, cmd("logging"))).summary).toBe("log level: debug")
    expect((await run(path, cmd("dump", "on"))).summary).toBe("request dumps turned on")
    expect((await run(path, cmd("dump"))).summary).toBe("request dumps on")
    const disk = onDisk(path)
    expect(disk).toMatchObject({
      ...userSettings,
      routing: "fallback-first",
      killswitch: {
        enabled: true,
        thresholds: {
          main: { fiveHour: 5, weekly: 10 },
          "acct_b/user-acct_b": { fiveHour: 2, weekly: 3 },
          "*": { fiveHour: 1, weekly: 1 },
        },
      },
      cacheKeep: { enabled: true, subagents: true },
      logLevel: "debug",
      dump: true,
    })
    expect(disk.accounts).toHaveLength(2)
    await run(path, cmd("killswitch", "off"))
    await run(path, cmd("cachekeep", "off"))
    await run(path, cmd("dump", "off"))
    expect(onDisk(path)).toMatchObject({ killswitch: { enabled: false }, cacheKeep: { enabled: false }, dump: false })
    expect((await run(path, cmd("killswitch"))).summary).toContain("killswitch off; main:5% 5h,10% weekly")
  })

  test("show commands on a missing file report defaults and create nothing", async () => {
    const path = freshPath()
    expect((await run(path, cmd("routing"))).summary).toBe("routing: main-first")
    expect((await run(path, cmd("logging"))).summary).toBe("log level: info (default)")
    expect((await run(path, cmd("dump"))).summary).toBe("request dumps off")
    expect((await run(path, cmd("killswitch"))).summary).toBe("killswitch off; no thresholds")
    const list = await run(path, cmd("quota"))
    expect((list.data as { accounts: Array<{ key: string }> }).accounts.map((a) => a.key)).toEqual(["main"])
    expect(() => readFileSync(path)).toThrow()
  })

  test("a quota reading in the store decodes into the list", async () => {
    const path = freshPath({ quota: { main: quota(42, 7) } })
    const list = await run(path, cmd("account"))
    const main = (list.data as { accounts: Array<{ quota?: { fiveHour?: { usedPercent: number } } }> }).accounts[0]
    expect(main?.quota?.fiveHour?.usedPercent).toBe(42)
  })
})
