/**
 * Brings any older `openai-auth.json` up to the current document version. Pure: JSON in, JSON out, the clock
 * passed in. Every step keeps the keys it does not understand, so a migration never loses user data.
 *
 * Version 0 is an unversioned file: the settings-only file users wrote by hand, or the legacy account list
 * whose entries use OpenCode's `auth.json` oauth shape (`{ type: "oauth", access, refresh, expires,
 * accountId }`), either as an array or as an object keyed by account id.
 */
import { Result } from "effect"

export const CURRENT_VERSION = 1

export type JsonObject = Record<string, unknown>

/**
 * `target[key] = value` as an own property whatever the key: a plain assignment to `__proto__` would replace
 * the object's prototype instead, and the key (a user's or a newer build's) would be lost on the next write.
 */
export const setOwn = <V>(target: Record<string, V>, key: string, value: V): void => {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

export interface MigrationFailure {
  readonly reason: string
}

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const legacyAccount = (entry: unknown, now: number, keyId?: string): unknown => {
  if (!isObject(entry)) return entry
  const { type, accountId, accessToken, refreshToken, expires, ...rest } = entry
  const out: JsonObject = { ...rest }
  // `type: "oauth"` only said which union member it was; any other value is not ours to drop
  if (type !== undefined && type !== "oauth") out.type = type
  if (out.id === undefined) out.id = accountId ?? keyId
  else if (accountId !== undefined) out.accountId = accountId
  if (out.access === undefined && accessToken !== undefined) out.access = accessToken
  else if (accessToken !== undefined) out.accessToken = accessToken
  if (out.refresh === undefined && refreshToken !== undefined) out.refresh = refreshToken
  else if (refreshToken !== undefined) out.refreshToken = refreshToken
  if (out.expiresAt === undefined && expires !== undefined) out.expiresAt = expires
  else if (expires !== undefined) out.expires = expires
  if (out.addedAt === undefined) out.addedAt = now
  return out
}

/** 0 -> 1: stamp the version and bring a legacy account list to the v1 account shape. */
const v0ToV1 = (doc: JsonObject, now: number): JsonObject => {
  const { accounts, ...rest } = doc
  const out: JsonObject = { version: 1, ...rest }
  if (Array.isArray(accounts)) out.accounts = accounts.map((a) => legacyAccount(a, now))
  else if (isObject(accounts)) out.accounts = Object.entries(accounts).map(([id, a]) => legacyAccount(a, now, id))
  else if (accounts !== undefined) out.accounts = accounts
  return out
}

const steps: ReadonlyArray<(doc: JsonObject, now: number) => JsonObject> = [v0ToV1]

/** The version a raw document declares; a missing `version` is 0. */
export const versionOf = (doc: JsonObject): Result.Result<number, MigrationFailure> => {
  const version = doc.version ?? 0
  if (typeof version !== "number" || !Number.isInteger(version) || version < 0) {
    return Result.fail({ reason: `"version" must be a non-negative integer, got ${JSON.stringify(version)}` })
  }
  return Result.succeed(version)
}

/**
 * Migrates a parsed document to `CURRENT_VERSION`. A document from a newer version is refused rather than
 * guessed at: writing it back would silently drop what that version knows.
 */
export const migrate = (raw: unknown, now: number): Result.Result<JsonObject, MigrationFailure> => {
  if (!isObject(raw)) return Result.fail({ reason: "the document is not a JSON object" })
  const version = versionOf(raw)
  if (Result.isFailure(version)) return Result.fail(version.failure)
  if (version.success > CURRENT_VERSION) {
    return Result.fail({
      reason: `written by a newer version (document version ${version.success}, this build knows ${CURRENT_VERSION})`,
    })
  }
  let doc = raw
  for (let v = version.success; v < CURRENT_VERSION; v++) doc = (steps[v] as (typeof steps)[number])(doc, now)
  return Result.succeed(doc)
}
