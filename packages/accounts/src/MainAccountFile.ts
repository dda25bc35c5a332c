/**
 * The main account kept in a JSON auth file of the shape agent hosts use (OpenCode's and Pi's `auth.json`:
 * `{ "<provider>": { "type": "oauth", "access", "refresh", "expires", "accountId" } }`), read and written
 * directly: by a process that runs outside its host (the CLI), or by a host with no login store of its own
 * (the facade's default). Only the one OAuth entry is ours to touch; every other entry, and any key of ours
 * we do not know, is written back as it was, atomically and with mode 0600.
 *
 * A host that changes its file only under a lock of its own, and refreshes under it (Pi: `proper-lockfile` on
 * `auth.json`), hands that lock over (`lock`). Every write then waits for it, and a refresh of the main account
 * runs inside it (`MainCredentials.exclusive`), so the host, its other processes and ours never spend one
 * refresh token twice. Lock order: the host's lock may be held while our store's lock is taken, never the
 * other way round, so `read` takes no lock.
 */
import { Files } from "@cortexkit/openai-auth-core/Files"
import { accountIdOf, parseClaims } from "@cortexkit/openai-auth-core/Jwt"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Duration, Effect, Layer, Option, Redacted, Result, Schedule, Schema } from "effect"
import {
  type HostTokens,
  MainCredentials,
  type MainCredentialsAccess,
  MainCredentialsError,
} from "./CredentialsContract.ts"

/** A host's own lock on its auth file. */
export interface AuthFileLock {
  /**
   * Runs `body` holding the lock on `path` (the file exists by then). `lost()` says whether the lock was taken
   * away meanwhile (its holder stalled past the host's stale limit): nothing may be written then.
   */
  readonly withLock: <A, E, R>(
    path: string,
    body: (lost: () => Error | undefined) => Effect.Effect<A, E, R>,
  ) => Effect.Effect<A, E | MainCredentialsError, R>
}

export interface MainAccountFileOptions {
  readonly path: string
  /** the entry that holds the tokens (OpenCode: `openai`, Pi: `openai-codex`) */
  readonly entry: string
  /** how errors name the file, e.g. "OpenCode's auth file" */
  readonly label?: string
  /** the host's lock on the file, when its own code writes and refreshes only under one */
  readonly lock?: AuthFileLock
}

const OAuthEntry = Schema.Struct({
  type: Schema.Literal("oauth"),
  access: Schema.String,
  refresh: Schema.String,
  expires: Schema.Finite,
  accountId: Schema.optionalKey(Schema.String),
})
const decodeEntry = Schema.decodeUnknownOption(OAuthEntry)

type JsonObject = Record<string, unknown>
const isObject = (value: unknown): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const failed = (message: string) => new MainCredentialsError({ message })

/** A file that does not parse right now: maybe a write caught half done, maybe really broken. */
class Unparsable extends Schema.TaggedError<Unparsable>()("Unparsable", { message: Schema.String }) {}

const parseObject = (text: string, name: string): Result.Result<JsonObject, Unparsable> => {
  try {
    const json: unknown = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
    return isObject(json)
      ? Result.succeed(json)
      : Result.fail(new Unparsable({ message: `${name} is not a JSON object` }))
  } catch (error) {
    return Result.fail(new Unparsable({ message: `${name} is not JSON: ${String(error)}` }))
  }
}

const accountIdFrom = (entry: { readonly accountId?: string; readonly access: string }) => {
  if (entry.accountId !== undefined && entry.accountId !== "") return entry.accountId
  const claims = parseClaims(entry.access, "access token")
  return Result.isSuccess(claims) ? accountIdOf(claims.success) : undefined
}

/** The `entry` OAuth entry of a parsed file as our tokens; None for no entry or an API key. */
export const tokensOf = (json: JsonObject, entry: string): Option.Option<HostTokens> =>
  Option.map(decodeEntry(json[entry]), (e) => ({
    access: Redacted.make(e.access),
    refresh: Redacted.make(e.refresh),
    expiresAt: e.expires,
    accountId: accountIdFrom(e),
  }))

/** The file with our entry replaced; every other entry and any key of ours we do not know stay. */
export const withTokens = (json: JsonObject, entry: string, tokens: TokenSet): JsonObject => {
  const previous = isObject(json[entry]) ? (json[entry] as JsonObject) : {}
  return {
    ...json,
    [entry]: {
      ...previous,
      type: "oauth",
      access: Redacted.value(tokens.access),
      refresh: Redacted.value(tokens.refresh),
      expires: tokens.expiresAt,
      accountId: tokens.accountId,
    },
  }
}

/** a host that rewrites its file in place (Pi: `writeFileSync`) may be caught between truncate and write */
const TORN_READ_RETRIES = 5

export const make = ({ path, entry, label = "the auth file", lock }: MainAccountFileOptions) =>
  Effect.gen(function* () {
    const files = yield* Files
    const name = `${label} ${path}`

    /** `{}` when the file does not exist or is blank; Unparsable (never an overwrite) when it holds no JSON object */
    const load = files.readText(path).pipe(
      Effect.mapError((e) => failed(`cannot read ${name}: ${e.message}`)),
      Effect.flatMap((text) =>
        Option.isNone(text) || text.value.trim() === ""
          ? Effect.succeed({} as JsonObject)
          : Effect.fromResult(parseObject(text.value, name)),
      ),
    )

    const read = load.pipe(
      Effect.retry({
        while: (e) => e._tag === "Unparsable",
        times: TORN_READ_RETRIES,
        schedule: Schedule.spaced(Duration.millis(5)),
      }),
      Effect.catchTag("Unparsable", (e) => Effect.fail(failed(e.message))),
      Effect.map((json) => tokensOf(json, entry)),
      Effect.withSpan("MainAccountFile.read"),
    )

    /** the file as it is, for a write: one that does not parse is left exactly as it is */
    const current = load.pipe(
      Effect.catchTag("Unparsable", (e) => Effect.fail(failed(`${e.message}; it is left as it is`))),
    )

    const writeAs = (lost: () => Error | undefined) =>
      Effect.fn("MainAccountFile.write")(function* (tokens: TokenSet) {
        const json = yield* current
        const gone = lost()
        if (gone !== undefined) return yield* failed(`lost the lock on ${name}: ${gone.message}`)
        yield* files
          .writeAtomic(path, `${JSON.stringify(withTokens(json, entry, tokens), null, 2)}\n`, { mode: 0o600 })
          .pipe(Effect.mapError((e) => failed(`cannot write ${name}: ${e.message}`)))
      })

    if (lock === undefined) return MainCredentials.of({ read, write: writeAs(() => undefined) })

    /** a lock on the file needs the file (Pi's own `ensureFileExists` does the same) */
    const ensureFile = files.createExclusive(path, "{}", { mode: 0o600 }).pipe(
      Effect.asVoid,
      Effect.mapError((e) => failed(`cannot create ${name}: ${e.message}`)),
    )

    const exclusive = <A, E, R>(body: (held: MainCredentialsAccess) => Effect.Effect<A, E, R>) =>
      Effect.andThen(
        ensureFile,
        lock.withLock(path, (lost) =>
          body({ read: Effect.map(current, (json) => tokensOf(json, entry)), write: writeAs(lost) }),
        ),
      )

    return MainCredentials.of({ read, write: (tokens) => exclusive((held) => held.write(tokens)), exclusive })
  })

export const MainAccountFile = {
  layer: (options: MainAccountFileOptions): Layer.Layer<MainCredentials, never, Files> =>
    Layer.effect(MainCredentials, make(options)),
}
