/**
 * The merge behind the store's write-behind: observations written in any batches, in any order, by any
 * number of writers end in the same document as one write of all of them (the newest reading per account and
 * window, the latest exhaustion end), and a batch that adds nothing leaves the document untouched.
 */
import { describe, expect, test } from "bun:test"
import { QuotaSnapshot, QuotaWindow } from "@cortexkit/openai-auth-core/Quota"
import { Redacted } from "effect"
import fc from "fast-check"
import { applyObservations, type Observations, Pending } from "../src/StorePending.ts"
import { emptyDocument, type StoreDocument } from "../src/StoreSchema.ts"

const HOUR = 3_600_000
const reading = (at: number, fiveHour: number | undefined, weekly: number | undefined) =>
  QuotaSnapshot.make({
    observedAt: at,
    source: "headers",
    ...(fiveHour === undefined
      ? {}
      : { fiveHour: QuotaWindow.make({ usedPercent: fiveHour, windowMinutes: 300, resetsAt: 10 * HOUR }) }),
    ...(weekly === undefined
      ? {}
      : { weekly: QuotaWindow.make({ usedPercent: weekly, windowMinutes: 10080, resetsAt: 100 * HOUR }) }),
    otherWindows: [],
    additional: [],
  })

const account = (id: string) => ({
  id,
  userId: `user_${id}`,
  access: Redacted.make("a"),
  refresh: Redacted.make("r"),
  expiresAt: 0,
  addedAt: 0,
  state: "active" as const,
})
const KEYS = ["main", "acct_a/user_acct_a", "acct_b/user_acct_b"] as const
const base = (): StoreDocument => ({ ...emptyDocument(), accounts: [account("acct_a"), account("acct_b")] })

const observation = fc.oneof(
  fc
    .record({
      key: fc.constantFrom(...KEYS),
      at: fc.integer({ min: 1, max: 1_000 }),
      // both windows, as every response's headers carry them (core's mergeQuota dates a reading, not each
      // window, so a newer reading missing a window is not associative with an older one that has it)
      fiveHour: fc.integer({ min: 0, max: 100 }),
      weekly: fc.integer({ min: 0, max: 100 }),
    })
    .map((o): Observations => ({ quota: { [o.key]: reading(o.at, o.fiveHour, o.weekly) } })),
  fc
    .record({ key: fc.constantFrom(...KEYS), until: fc.integer({ min: 1, max: 1_000 }) })
    .map((o): Observations => ({ exhausted: { [o.key]: o.until } })),
)

/** what a writer holding `batch` in its pending set writes over `doc` */
const writeBatch = (doc: StoreDocument, batch: ReadonlyArray<Observations>) => {
  const pending = new Pending()
  for (const o of batch) pending.add(o)
  return applyObservations(doc, pending.take())
}

/** the comparable essence: per account the newest reading's windows and the exhaustion end */
const essence = (doc: StoreDocument) => ({
  quota: Object.fromEntries(
    Object.entries(doc.quota).map(([k, q]) => [k, { five: q.fiveHour?.usedPercent, week: q.weekly?.usedPercent }]),
  ),
  main: doc.main?.exhaustedUntil,
  accounts: doc.accounts.map((a) => a.exhaustedUntil),
})

describe("StorePending", () => {
  test("any split into batches, written in any order, equals one write of everything (property)", () => {
    fc.assert(
      fc.property(
        fc.array(observation, { minLength: 1, maxLength: 30 }),
        fc.array(fc.nat({ max: 4 }), { minLength: 30, maxLength: 30 }),
        fc.array(fc.nat({ max: 4 }), { minLength: 5, maxLength: 5 }),
        (all, batchOf, order) => {
          // distinct reading times per account, so "the newest" is never a tie
          const seen = new Set<string>()
          const unique = all.filter((o) => {
            const q = Object.entries(o.quota ?? {})[0]
            if (q === undefined) return true
            const id = `${q[0]}@${q[1].observedAt}`
            if (seen.has(id)) return false
            seen.add(id)
            return true
          })
          const batches: Array<Array<Observations>> = [[], [], [], [], []]
          for (const [i, o] of unique.entries()) batches[batchOf[i] ?? 0]?.push(o)
          const ordered = [...batches.keys()].sort((a, b) => (order[a] ?? 0) - (order[b] ?? 0) || a - b)
          let doc = base()
          for (const i of ordered) doc = writeBatch(doc, batches[i] ?? [])
          expect(essence(doc)).toEqual(essence(writeBatch(base(), unique)))
          // and writing it all again (a retried write) changes nothing
          expect(essence(writeBatch(doc, unique))).toEqual(essence(doc))
        },
      ),
    )
  })

  test("keeps the newer reading per window and the later exhaustion end already on disk", () => {
    const disk: StoreDocument = {
      ...base(),
      main: { state: "active", exhaustedUntil: 900 },
      quota: { main: reading(500, 80, 20) },
    }
    const written = writeBatch(disk, [
      { quota: { main: reading(400, 10, undefined) } },
      { exhausted: { main: 100, "acct_a/user_acct_a": 300 } },
    ])
    expect(essence(written)).toEqual({
      quota: { main: { five: 80, week: 20 } },
      main: 900,
      accounts: [300, undefined],
    })
  })

  test("a mark for an account no longer in the store is dropped, and nothing new keeps the same document", () => {
    const doc = base()
    expect(writeBatch(doc, [{ exhausted: { "acct_gone/user_acct_gone": 5 } }])).toBe(doc)
    expect(writeBatch(doc, [])).toBe(doc)
  })

  test("settle keeps what changed while the write was in flight", () => {
    const pending = new Pending()
    pending.add({ quota: { main: reading(1, 10, 10) }, exhausted: { main: 5 } })
    const taken = pending.take()
    pending.add({ quota: { main: reading(2, 20, 10) } })
    pending.settle(taken)
    expect([...pending.quota.keys()]).toEqual(["main"])
    expect(pending.quota.get("main")?.fiveHour?.usedPercent).toBe(20)
    expect(pending.exhausted.size).toBe(0)
    pending.settle(pending.take())
    expect(pending.empty).toBe(true)
  })
})
