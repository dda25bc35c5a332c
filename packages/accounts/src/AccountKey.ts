/**
 * How the accounts layer names an account. The main account (OpenCode's own login) is `main`; a fallback is
 * identified by its ChatGPT account id plus its user id, so teammates in one workspace stay distinct.
 */
import type { Account } from "./StoreSchema.ts"

export const MAIN = "main"

export const keyOf = (account: Pick<Account, "id" | "userId">): string =>
  account.userId === undefined ? account.id : `${account.id}/${account.userId}`

export const sameIdentity = (a: Pick<Account, "id" | "userId">, b: Pick<Account, "id" | "userId">): boolean =>
  a.id === b.id && (a.userId ?? "") === (b.userId ?? "")

/**
 * Finds a fallback account by what a user types: its key, its account id or its label (either only when one
 * account has it: a shared one names nobody). `main` is never a fallback.
 */
export const findAccount = <A extends Pick<Account, "id" | "userId" | "label">>(
  accounts: ReadonlyArray<A>,
  name: string,
): A | undefined => {
  const byKey = accounts.find((a) => keyOf(a) === name)
  if (byKey !== undefined) return byKey
  const byId = accounts.filter((a) => a.id === name)
  if (byId.length === 1) return byId[0]
  const byLabel = accounts.filter((a) => a.label === name)
  return byLabel.length === 1 ? byLabel[0] : undefined
}
