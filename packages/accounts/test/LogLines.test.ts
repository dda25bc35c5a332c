/**
 * What the log says about the events a user asks about later: an exhaustion mark and the moment the account
 * is used again (TestClock), a refresh and who made it (this process or another sharing the store), an
 * account that needs a new login, the quota polls, and at trace the wire detail of every attempt (redacted,
 * never a body). The lines are captured as the log file would get them.
 */
import { describe, expect, test } from "bun:test"
import { Http } from "@cortexkit/openai-auth-core/Http"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import type { SimAccount } from "@cortexkit/openai-auth-testkit/Simulator"
import { Effect, Layer, ManagedRuntime } from "effect"
import { TestClock } from "effect/testing"
import { MAIN } from "../src/AccountKey.ts"
import { QuotaPoller } from "../src/QuotaPoller.ts"
import { RoutedClient } from "../src/RoutedClient.ts"
import { Store } from "../src/Store.ts"
import { it, keyOfSim, send, setup, sim, TIMEOUT, useSimulator } from "./support/clock.ts"
import {
  accountsLayer,
  fallbackAccount,
  HostStore,
  hostRequest,
  readAll,
  settingsFor,
  tempDir,
} from "./support/fixture.ts"

useSimulator()

/** the message and fields of each captured line, without the time stamp */
const strip = (lines: ReadonlyArray<string>) => lines.map((l) => l.replace(/^\S+ /, "").trimEnd())

describe("the log", () => {
  it.effect(
    "an exhaustion mark, then the moment the account is used again after its reset",
    () => {
      const lines: Array<string> = []
      return Effect.gen(function* () {
        const env = yield* setup()
        sim.script(env.main.accountId, { fault: { kind: "usage_limit", resetsInSeconds: 600 } })
        yield* send("ses_log_limit")
        const until = (yield* (yield* Store).read).main?.exhaustedUntil ?? 0
        expect(strip(lines).filter((l) => l.includes("usage limit"))).toEqual([
          `INFO usage limit reached: the account is skipped until its reset {"account":"main","until":"${new Date(until).toISOString()}"}`,
        ])
        yield* send("ses_log_limit")
        expect(lines.some((l) => l.includes("usage limit reset"))).toBe(false)
        yield* TestClock.setTime(until)
        yield* send("ses_log_limit")
        yield* send("ses_log_limit")
        // once, when this process first routes with the mark behind it
        expect(strip(lines).filter((l) => l.includes("usage limit reset"))).toEqual([
          `INFO usage limit reset: the account is used again {"account":"main"}`,
        ])
      }).pipe(Effect.provide(Logger.layerCapture((line) => lines.push(line), "info")))
    },
    TIMEOUT,
  )

  it.effect(
    "trace: each attempt's URL and headers (authorization redacted) and the answer's status, never the body",
    () => {
      const lines: Array<string> = []
      return Effect.gen(function* () {
        const env = yield* setup()
        yield* send("ses_log_trace")
        const sending = lines.find((l) => l.includes(" TRACE sending "))
        const answered = lines.find((l) => l.includes(" TRACE answered "))
        expect(sending).toContain(`"url":"${sim.codexEndpoint}"`)
        expect(sending).toContain('"authorization":"[REDACTED]"')
        expect(sending).toContain(`"chatgpt-account-id":"${env.main.accountId}"`)
        expect(sending).toMatch(/"bodyBytes":\d+/)
        expect(sending).not.toContain(env.main.tokens.access)
        expect(answered).toContain('"status":200')
        expect(answered).toContain('"x-codex-primary-used-percent"')
        // the prompt never reaches the log
        expect(lines.join("")).not.toContain("You are a coding agent.")
      }).pipe(Effect.provide(Logger.layerCapture((line) => lines.push(line), "trace")))
    },
    TIMEOUT,
  )
})

/** two runtimes over one store, as two OpenCode processes would be, each logging to its own lines */
const twoProcesses = async (fallback: SimAccount, main: SimAccount) => {
  const dir = tempDir()
  const storePath = `${dir.dir}/openai-auth.json`
  const make = () => {
    const lines: Array<string> = []
    const runtime = ManagedRuntime.make(
      Layer.merge(
        accountsLayer({ sim, storePath, host: new HostStore(main) }),
        Logger.layerCapture((line) => lines.push(line), "info"),
      ),
    )
    const send = (session: string) =>
      runtime.runPromise(
        Effect.gen(function* () {
          const client = yield* RoutedClient
          const served = yield* client.send(hostRequest(session), {
            settings: settingsFor(sim),
            pin: keyOfSim(fallback),
          })
          yield* Effect.promise(() => readAll(served.response.body))
        }),
      )
    return { runtime, lines, send }
  }
  const a = make()
  const b = make()
  await a.runtime.runPromise(
    Effect.gen(function* () {
      yield* (yield* Store).update((doc) => ({ ...doc, accounts: [fallbackAccount(fallback)] }))
    }),
  )
  return {
    a,
    b,
    dispose: async () => Promise.all([a.runtime.dispose(), b.runtime.dispose()]).then(() => dir[Symbol.dispose]()),
  }
}

describe("the log says who refreshed", () => {
  test("this process, or another one sharing the store; and a refused refresh is a needs-re-login warning", async () => {
    const id = crypto.randomUUID().slice(0, 8)
    const main = sim.addAccount({ accountId: `acct_lm_${id}`, userId: `user_lm_${id}` })
    const fallback = sim.addAccount({ accountId: `acct_lf_${id}`, userId: `user_lf_${id}` })
    const { a, b, dispose } = await twoProcesses(fallback, main)
    try {
      await a.send("ses_a")
      await b.send("ses_b")
      // the backend stops taking the token both processes hold
      sim.expireAccessTokens(fallback.accountId)
      await a.send("ses_a")
      const key = keyOfSim(fallback)
      expect(strip(a.lines).filter((l) => l.includes("token"))).toEqual([
        expect.stringMatching(
          new RegExp(`^INFO token refreshed \\{"account":"${key}","by":"this process","expiresAt":"`),
        ),
      ])
      await b.send("ses_b")
      expect(strip(b.lines).filter((l) => l.includes("token"))).toEqual([
        `INFO using a token another process refreshed {"account":"${key}","by":"another process"}`,
      ])

      // the refresh token is revoked: the next refresh is refused and the account needs a new login
      sim.scriptRefresh(fallback.accountId, { kind: "invalidated" })
      sim.expireAccessTokens(fallback.accountId)
      await a.send("ses_a").catch(() => undefined)
      expect(strip(a.lines).filter((l) => l.includes("needs a new login"))).toEqual([
        `WARN the account needs a new login (its refresh token was refused) {"account":"${key}","reason":"RefreshTokenInvalidated"}`,
      ])

      // a poll of every account: one line per account (debug when it answered, info when it failed)
      const polled: Array<string> = []
      await a.runtime.runPromise(
        Effect.flatMap(QuotaPoller, (p) => p.pollAll).pipe(
          Effect.provide(
            QuotaPoller.layer.pipe(Layer.provide(Layer.merge(Http.layer, Settings.layer(settingsFor(sim))))),
          ),
          Effect.provide(Logger.layerCapture((line) => polled.push(line), "debug")),
        ),
      )
      expect(strip(polled).filter((l) => l.includes("quota poll"))).toEqual([
        expect.stringMatching(
          new RegExp(`^DEBUG quota polled \\{"account":"${MAIN}","fiveHourUsed":\\d+,"weeklyUsed":\\d+\\}$`),
        ),
        expect.stringMatching(new RegExp(`^INFO quota poll failed \\{"account":"${key}","reason":"NeedsRelogin",`)),
      ])
    } finally {
      await dispose()
    }
  }, 60_000)
})
