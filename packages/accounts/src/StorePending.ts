/**
 * What the store writes behind the request path: the last quota reading per account and the usage-limit
 * marks (`exhaustedUntil`). Both merge without loss in any order and any number of times: readings window
 * by window, the newer winning (`mergeQuota`); marks keep the later end. So a write that lands after another
 * process's, twice, or late, never hides anything newer, and many observations made while a write waits for
 * the lock collapse into one entry per account.
 */
import { mergeQuota, type QuotaSnapshot } from "@cortexkit/openai-auth-core/Quota"
import { keyOf, MAIN } from "./AccountKey.ts"
import { setOwn } from "./Migrations.ts"
import type { StoreDocument } from "./StoreSchema.ts"

export interface Observations {
  /** per account key (`main` or a fallback's key) */
  readonly quota?: Readonly<Record<string, QuotaSnapshot>>
  /** per account key: epoch ms until which it answered `usage_limit_reached` */
  readonly exhausted?: Readonly<Record<string, number>>
}

export interface PendingSnapshot {
  readonly quota: ReadonlyMap<string, QuotaSnapshot>
  readonly exhausted: ReadonlyMap<string, number>
}

const later = (a: number | undefined, b: number) => a === undefined || a < b

/** `doc` with the observations merged in; the same object when they add nothing (so no write follows). */
export const applyObservations = (doc: StoreDocument, pending: PendingSnapshot): StoreDocument => {
  let next = doc
  if (pending.quota.size > 0) {
    const quota: Record<string, QuotaSnapshot> = { ...doc.quota }
    let changed = false
    for (const [key, mine] of pending.quota) {
      const merged = mergeQuota(doc.quota[key], mine)
      if (merged !== doc.quota[key]) {
        setOwn(quota, key, merged)
        changed = true
      }
    }
    if (changed) next = { ...next, quota }
  }
  for (const [key, until] of pending.exhausted) {
    if (key === MAIN) {
      if (later(next.main?.exhaustedUntil, until))
        next = { ...next, main: { ...(next.main ?? { state: "active" as const }), exhaustedUntil: until } }
      continue
    }
    // a mark for an account removed meanwhile is dropped with it
    const index = next.accounts.findIndex((a) => keyOf(a) === key)
    const account = next.accounts[index]
    if (account === undefined || !later(account.exhaustedUntil, until)) continue
    const accounts = [...next.accounts]
    accounts[index] = { ...account, exhaustedUntil: until }
    next = { ...next, accounts }
  }
  return next
}

/** The observations not yet on disk. `version` changes with every change, so readers can memoise on it. */
export class Pending implements PendingSnapshot {
  readonly quota = new Map<string, QuotaSnapshot>()
  readonly exhausted = new Map<string, number>()
  version = 0

  get empty(): boolean {
    return this.quota.size === 0 && this.exhausted.size === 0
  }

  /** true when something new was recorded */
  add(observations: Observations): boolean {
    let changed = false
    for (const [key, snapshot] of Object.entries(observations.quota ?? {})) {
      const previous = this.quota.get(key)
      const merged = mergeQuota(previous, snapshot)
      if (merged !== previous) {
        this.quota.set(key, merged)
        changed = true
      }
    }
    for (const [key, until] of Object.entries(observations.exhausted ?? {})) {
      if (later(this.exhausted.get(key), until)) {
        this.exhausted.set(key, until)
        changed = true
      }
    }
    if (changed) this.version++
    return changed
  }

  /** a copy to write; what changes while it is written stays pending */
  take(): PendingSnapshot {
    return { quota: new Map(this.quota), exhausted: new Map(this.exhausted) }
  }

  /** after `taken` is on disk: drops every entry not replaced by a newer one meanwhile */
  settle(taken: PendingSnapshot): void {
    for (const [key, snapshot] of taken.quota) if (this.quota.get(key) === snapshot) this.quota.delete(key)
    for (const [key, until] of taken.exhausted) if (this.exhausted.get(key) === until) this.exhausted.delete(key)
    this.version++
  }
}
