/**
 * Pi's `auth.json` as the home of the main account. Pi keeps one credential per provider there and changes
 * the file only under a `proper-lockfile` lock (`auth.json.lock`, a directory), re-reading it first; its own
 * refresh of an OAuth token runs entirely inside that lock. So does ours (`exclusive`), with the same
 * library and the same options, which is what keeps Pi, other Pi processes, this extension and the CLI
 * from ever spending one refresh token twice.
 *
 * Lock order: Pi's lock may be held while our store's lock is taken, never the other way round. `read`
 * therefore takes no lock (Pi rewrites the file in place, so a read that catches a write half done is
 * tried again), and only `write` and `exclusive` wait for Pi's lock.
 */

import {
  type HostTokens,
  MainCredentials,
  type MainCredentialsAccess,
  MainCredentialsError,
} from "@cortexkit/openai-auth-accounts/Credentials"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { accountIdOf, parseClaims } from "@cortexkit/openai-auth-core/Jwt"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Clock, Duration, Effect, Layer, Option, Redacted, Result, Schedule, Schema } from "effect"
import lockfile from "proper-lockfile"
import { PROVIDER_ID } from "./PiHost.ts"

/** Pi's own numbers (auth-storage.js acquireLockAsync): a lock untouched for 30 s is stale; wait 30 s at most. */
export const LOCK_STALE_MS = 30_000
export const LOCK_WAIT_MS = 30_000

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

const parseObject = (path: string, text: string): Result.Result<JsonObject, Unparsable> => {
  if (text.trim() === "") return Result.fail(new Unparsable({ message: `Pi's auth file ${path} is empty` }))
  try {
    const json: unknown = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text)
    return isObject(json)
      ? Result.succeed(json)
      : Result.fail(new Unparsable({ message: `Pi's auth file ${path} is not a JSON object` }))
  } catch (error) {
    return Result.fail(new Unparsable({ message: `Pi's auth file ${path} is not JSON: ${String(error)}` }))
  }
}

const accountIdFrom = (entry: { readonly accountId?: string; readonly access: string }) => {
  if (entry.accountId !== undefined && entry.accountId !== "") return entry.accountId
  const claims = parseClaims(entry.access, "access token")
  return Result.isSuccess(claims) ? accountIdOf(claims.success) : undefined
}

/** The `openai-codex` OAuth entry of a parsed file, as our tokens; None for no entry or an API key. */
export const tokensOf = (json: JsonObject): Option.Option<HostTokens> =>
  Option.map(decodeEntry(json[PROVIDER_ID]), (entry) => ({
    access: Redacted.make(entry.access),
    refresh: Redacted.make(entry.refresh),
    expiresAt: entry.expires,
    accountId: accountIdFrom(entry),
  }))

/** The file with our entry replaced; every other provider's entry and any key of ours we do not know stay. */
export const withTokens = (json: JsonObject, tokens: TokenSet): JsonObject => {
  const previous = isObject(json[PROVIDER_ID]) ? (json[PROVIDER_ID] as JsonObject) : {}
  return {
    ...json,
    [PROVIDER_ID]: {
      ...previous,
      type: "oauth",
      access: Redacted.value(tokens.access),
      refresh: Redacted.value(tokens.refresh),
      expires: tokens.expiresAt,
      accountId: tokens.accountId,
    },
  }
}

const TORN_READ_RETRIES = 5

export const make = (path: string) =>
  Effect.gen(function* () {
    const files = yield* Files

    const load = files.readText(path).pipe(
      Effect.mapError((e) => failed(`cannot read Pi's auth file ${path}: ${e.message}`)),
      Effect.flatMap((text) =>
        Option.isNone(text) ? Effect.succeed({} as JsonObject) : Effect.fromResult(parseObject(path, text.value)),
      ),
    )

    // Pi writes in place (writeFileSync): outside its lock a read may land between truncate and write
    const read = load.pipe(
      Effect.retry({
        while: (e) => e._tag === "Unparsable",
        times: TORN_READ_RETRIES,
        schedule: Schedule.spaced(Duration.millis(5)),
      }),
      Effect.catchTag("Unparsable", (e) => Effect.fail(failed(e.message))),
      Effect.map(tokensOf),
      Effect.withSpan("PiAuthFile.read"),
    )

    const lockedLoad = load.pipe(
      Effect.catchTag("Unparsable", (e) => Effect.fail(failed(`${e.message}; it is left as it is`))),
    )

    const held = (compromised: () => Error | undefined): MainCredentialsAccess => ({
      read: Effect.map(lockedLoad, tokensOf),
      write: (tokens) =>
        Effect.gen(function* () {
          const json = yield* lockedLoad
          const lost = compromised()
          if (lost !== undefined) return yield* failed(`lost the lock on Pi's auth file ${path}: ${lost.message}`)
          yield* files
            .writeAtomic(path, JSON.stringify(withTokens(json, tokens), null, 2), { mode: 0o600 })
            .pipe(Effect.mapError((e) => failed(`cannot write Pi's auth file ${path}: ${e.message}`)))
        }),
    })

    /** Pi locks the file itself, so it must exist first (auth-storage.js ensureFileExists). */
    const ensureFile = files.createExclusive(path, "{}", { mode: 0o600 }).pipe(
      Effect.asVoid,
      Effect.mapError((e) => failed(`cannot create Pi's auth file ${path}: ${e.message}`)),
    )

    const tryLock = (onCompromised: (error: Error) => void) =>
      Effect.tryPromise({
        try: () => lockfile.lock(path, { retries: 0, stale: LOCK_STALE_MS, onCompromised }),
        catch: (error) => error as Error & { readonly code?: string },
      })

    const acquire = (onCompromised: (error: Error) => void) =>
      Effect.gen(function* () {
        yield* ensureFile
        const start = yield* Clock.currentTimeMillis
        for (let attempt = 0; ; attempt++) {
          const result = yield* Effect.result(tryLock(onCompromised))
          if (Result.isSuccess(result)) return result.success
          const waited = (yield* Clock.currentTimeMillis) - start
          if (result.failure.code !== "ELOCKED" || waited >= LOCK_WAIT_MS) {
            return yield* failed(
              result.failure.code === "ELOCKED"
                ? `Pi's auth file ${path} stayed locked for ${Math.round(waited / 1000)} s`
                : `cannot lock Pi's auth file ${path}: ${result.failure.message}`,
            )
          }
          const backoff = Math.min(1_000, 10 * 2 ** Math.min(attempt, 7))
          yield* Effect.sleep(Duration.millis(Math.round(backoff * (0.5 + Math.random()))))
        }
      })

    const exclusive = <A, E, R>(body: (access: MainCredentialsAccess) => Effect.Effect<A, E, R>) =>
      Effect.suspend(() => {
        let lost: Error | undefined
        return Effect.acquireUseRelease(
          acquire((error) => {
            lost = error
          }),
          () => body(held(() => lost)),
          (release) => Effect.promise(() => release().catch(() => undefined)),
        )
      })

    return MainCredentials.of({
      read,
      write: (tokens) => exclusive((access) => access.write(tokens)),
      exclusive,
    })
  })

export const PiAuthFile = {
  /** the main account in the Pi `auth.json` at `path` */
  layerAt: (path: string): Layer.Layer<MainCredentials, never, Files> => Layer.effect(MainCredentials, make(path)),
}
