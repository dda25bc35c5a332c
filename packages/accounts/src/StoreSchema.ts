/**
 * The one document in `openai-auth.json`: the user's settings (README.md "Configuration") and the account store, versioned.
 * Decoding keeps, beside the typed fields, every key this build does not know (top level and per account) in
 * `extra`; encoding writes them back verbatim, so a newer build's or the user's own keys survive every write.
 */
import { QuotaSnapshot } from "@cortexkit/openai-auth-core/Quota"
import { optionalFileFields } from "@cortexkit/openai-auth-core/Settings"
import { Effect, Result, Schema } from "effect"
import { CURRENT_VERSION, type JsonObject, migrate, setOwn } from "./Migrations.ts"

/** plain strings on disk, `Redacted` in memory so tokens never reach a log by accident */
const token = () => Schema.RedactedFromValue(Schema.String)

export const AccountState = Schema.Literals(["active", "needs-relogin"])
export type AccountState = typeof AccountState.Type

export const RoutingMode = Schema.Literals(["main-first", "fallback-first"])
export type RoutingMode = typeof RoutingMode.Type

export const Threshold = Schema.Struct({ fiveHour: Schema.Finite, weekly: Schema.Finite })

// The document's schemas are built by the first decode or encode of a file, not at module load: a process
// whose store file does not exist (yet) never needs them (`emptyDocument` below is a plain value), and their
// construction is a measurable part of the plugin's start memory (docs/performance.md, "Round 3: mem2").
const accountFieldsSchema = () =>
  Schema.Struct({
    /** the ChatGPT account id (`chatgpt_account_id`) */
    id: Schema.NonEmptyString,
    userId: Schema.optionalKey(Schema.String),
    label: Schema.optionalKey(Schema.String),
    email: Schema.optionalKey(Schema.String),
    plan: Schema.optionalKey(Schema.String),
    access: token(),
    refresh: token(),
    idToken: Schema.optionalKey(token()),
    /** epoch ms */
    expiresAt: Schema.Finite,
    /** epoch ms */
    addedAt: Schema.Finite,
    state: AccountState.pipe(Schema.withDecodingDefaultKey(Effect.succeed("active"))),
    needsReloginReason: Schema.optionalKey(Schema.String),
    /** epoch ms until which the account answered `usage_limit_reached` */
    exhaustedUntil: Schema.optionalKey(Schema.Finite),
  })

/** One fallback account's entry (built on first use: a schema per call). */
export const AccountFields = Schema.suspend(accountFieldsSchema)

export type Account = ReturnType<typeof accountFieldsSchema>["Type"] & {
  /** keys of this account entry that this build does not know, written back verbatim */
  readonly extra?: Readonly<JsonObject>
}

const documentFieldsSchema = () =>
  Schema.Struct({
    version: Schema.Literal(CURRENT_VERSION),
    // the user's settings, exactly as the Settings resolver reads them (booleans kept as written, null = unset)
    ...optionalFileFields,
    /** fallback accounts; their order is the fallback order */
    accounts: Schema.Array(AccountFields).pipe(Schema.withDecodingDefaultKey(Effect.succeed([]))),
    routing: RoutingMode.pipe(Schema.withDecodingDefaultKey(Effect.succeed("main-first"))),
    /** what the store knows of the main account (its tokens live in the host): set when it needs a re-login */
    main: Schema.optional(
      Schema.Struct({
        state: AccountState,
        needsReloginReason: Schema.optionalKey(Schema.String),
        exhaustedUntil: Schema.optionalKey(Schema.Finite),
      }),
    ),
    /** the switch target: an account id or `main` */
    activeAccount: Schema.optionalKey(Schema.String),
    killswitch: Schema.Struct({
      enabled: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false))),
      /** keyed by account id, `main`, or `*` */
      thresholds: Schema.Record(Schema.String, Threshold).pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
    }).pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
    /** last quota reading per account id or `main` (a cache: an unreadable entry is dropped, not fatal) */
    quota: Schema.Record(Schema.String, Schema.Unknown).pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
    cacheKeep: Schema.Struct({
      enabled: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false))),
      subagents: Schema.Boolean.pipe(Schema.withDecodingDefaultKey(Effect.succeed(false))),
    }).pipe(Schema.withDecodingDefaultKey(Effect.succeed({}))),
  })

/** The document's typed fields (built on first use). */
export const DocumentFields = Schema.suspend(documentFieldsSchema)

type Fields = ReturnType<typeof documentFieldsSchema>["Type"]

export type StoreDocument = Omit<Fields, "accounts" | "quota"> & {
  readonly accounts: ReadonlyArray<Account>
  readonly quota: Readonly<Record<string, QuotaSnapshot>>
  /** top-level keys this build does not know, written back verbatim */
  readonly extra: Readonly<JsonObject>
}

/** The keys of the document and of an account entry, as the schemas above name them (a test checks). */
export const KNOWN_TOP: ReadonlySet<string> = new Set([
  "version",
  ...Object.keys(optionalFileFields),
  "accounts",
  "routing",
  "main",
  "activeAccount",
  "killswitch",
  "quota",
  "cacheKeep",
])
export const KNOWN_ACCOUNT: ReadonlySet<string> = new Set([
  "id",
  "userId",
  "label",
  "email",
  "plan",
  "access",
  "refresh",
  "idToken",
  "expiresAt",
  "addedAt",
  "state",
  "needsReloginReason",
  "exhaustedUntil",
])

const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const unknownKeys = (raw: JsonObject, known: ReadonlySet<string>): JsonObject => {
  const out: JsonObject = {}
  for (const [key, value] of Object.entries(raw)) if (!known.has(key)) setOwn(out, key, value)
  return out
}

const decodeFields = Schema.decodeUnknownResult(DocumentFields)
const encodeFields = Schema.encodeUnknownResult(DocumentFields)
const decodeQuota = Schema.decodeUnknownResult(QuotaSnapshot)
const encodeQuota = Schema.encodeUnknownResult(QuotaSnapshot)

export const emptyDocument = (): StoreDocument => ({
  version: CURRENT_VERSION,
  accounts: [],
  routing: "main-first",
  killswitch: { enabled: false, thresholds: {} },
  quota: {},
  cacheKeep: { enabled: false, subagents: false },
  extra: {},
})

/** Parsed JSON -> the current document, or the reason it cannot be one. */
export const decodeDocument = (raw: unknown, now: number): Result.Result<StoreDocument, string> => {
  const migrated = migrate(raw, now)
  if (Result.isFailure(migrated)) return Result.fail(migrated.failure.reason)
  const decoded = decodeFields(migrated.success)
  if (Result.isFailure(decoded)) return Result.fail(decoded.failure.message)
  const rawAccounts = Array.isArray(migrated.success.accounts) ? migrated.success.accounts : []
  const accounts = decoded.success.accounts.map((account, i): Account => {
    const rawAccount: unknown = rawAccounts[i]
    const extra = isObject(rawAccount) ? unknownKeys(rawAccount, KNOWN_ACCOUNT) : {}
    return Object.keys(extra).length === 0 ? account : { ...account, extra }
  })
  const quota: Record<string, QuotaSnapshot> = {}
  for (const [key, value] of Object.entries(decoded.success.quota)) {
    const snapshot = decodeQuota(value)
    if (Result.isSuccess(snapshot)) setOwn(quota, key, snapshot.success)
  }
  return Result.succeed({
    ...decoded.success,
    accounts,
    quota,
    extra: unknownKeys(migrated.success, KNOWN_TOP),
  })
}

/** The document -> the JSON object to write, unknown keys merged back; fails when the document is invalid. */
export const encodeDocument = (doc: StoreDocument): Result.Result<JsonObject, string> => {
  const quota: JsonObject = {}
  for (const [key, value] of Object.entries(doc.quota)) {
    const encoded = encodeQuota(value)
    if (Result.isFailure(encoded)) return Result.fail(`quota.${key}: ${encoded.failure.message}`)
    setOwn<unknown>(quota, key, encoded.success)
  }
  const { extra, ...fields } = doc
  const encoded = encodeFields({ ...fields, quota })
  if (Result.isFailure(encoded)) return Result.fail(encoded.failure.message)
  const out: JsonObject = { ...encoded.success }
  out.accounts = (encoded.success.accounts ?? []).map((account, i) => {
    const accountExtra = doc.accounts[i]?.extra
    return accountExtra === undefined ? account : { ...unknownKeys(accountExtra, KNOWN_ACCOUNT), ...account }
  })
  for (const [key, value] of Object.entries(extra)) if (!KNOWN_TOP.has(key)) setOwn(out, key, value)
  return Result.succeed(out)
}

/** An account is (ChatGPT account id, user id): two people in one workspace are two accounts. */
export const sameIdentity = (a: Pick<Account, "id" | "userId">, b: Pick<Account, "id" | "userId">): boolean =>
  a.id === b.id && a.userId === b.userId

/**
 * Adds `account`, or updates in place (keeping its position, `addedAt`, label and unknown keys unless given)
 * the entry with the same identity. An entry saved before user ids were known is taken over by the first
 * login of that account id.
 */
export const upsertAccount = (doc: StoreDocument, account: Account): StoreDocument => {
  let index = doc.accounts.findIndex((a) => sameIdentity(a, account))
  if (index < 0) index = doc.accounts.findIndex((a) => a.id === account.id && a.userId === undefined)
  if (index < 0) return { ...doc, accounts: [...doc.accounts, account] }
  const previous = doc.accounts[index] as Account
  const merged: Account = {
    ...previous,
    ...account,
    addedAt: previous.addedAt,
    ...(account.extra === undefined && previous.extra !== undefined ? { extra: previous.extra } : {}),
  }
  return { ...doc, accounts: doc.accounts.map((a, i) => (i === index ? merged : a)) }
}

/** Removes the accounts matching `id` (and `userId` when given). */
export const removeAccount = (doc: StoreDocument, id: string, userId?: string): StoreDocument => ({
  ...doc,
  accounts: doc.accounts.filter((a) => !(a.id === id && (userId === undefined || a.userId === userId))),
})
