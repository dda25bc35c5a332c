/**
 * The main account kept in a JSON auth file of the shape agent hosts use (OpenCode's and Pi's `auth.json`:
 * `{ "<provider>": { "type": "oauth", "access", "refresh", "expires", "accountId" } }`), read and written
 * directly: by a process that runs outside its host (the CLI), or by a host with no login store of its own
 * (the facade's default). Only the one OAuth entry is ours to touch; every other entry, and any key of ours
 * we do not know, is written back as it was, atomically and with mode 0600.
 */
import { Files } from "@cortexkit/openai-auth-core/Files"
import { accountIdOf, parseClaims } from "@cortexkit/openai-auth-core/Jwt"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Effect, Layer, Option, Redacted, Result, Schema } from "effect"
import { type HostTokens, MainCredentials, MainCredentialsError } from "./CredentialsContract.ts"

export interface MainAccountFileOptions {
  readonly path: string
  /** the entry that holds the tokens (OpenCode: `openai`) */
  readonly entry: string
  /** how errors name the file, e.g. "OpenCode's auth file" */
  readonly label?: string
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

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const failed = (message: string) => new MainCredentialsError({ message })

/** The parsed file: `{}` when it does not exist; an error (never an overwrite) when it is not a JSON object. */
const load = (files: Files["Service"], path: string, label: string) =>
  Effect.gen(function* () {
    const text = yield* files
      .readText(path)
      .pipe(Effect.mapError((e) => failed(`cannot read ${label} ${path}: ${e.message}`)))
    if (Option.isNone(text) || text.value.trim() === "") return {} as JsonObject
    const parsed = parseJson(text.value)
    if (!isObject(parsed)) return yield* failed(`${label} ${path} is not a JSON object`)
    return parsed
  })

const accountIdFrom = (entry: { readonly accountId?: string; readonly access: string }) => {
  if (entry.accountId !== undefined && entry.accountId !== "") return entry.accountId
  const claims = parseClaims(entry.access, "access token")
  return Result.isSuccess(claims) ? accountIdOf(claims.success) : undefined
}

export const make = ({ path, entry: key, label = "the auth file" }: MainAccountFileOptions) =>
  Effect.gen(function* () {
    const files = yield* Files

    const read = load(files, path, label).pipe(
      Effect.map((json): Option.Option<HostTokens> => {
        const entry = decodeEntry(json[key])
        if (Option.isNone(entry)) return Option.none()
        return Option.some({
          access: Redacted.make(entry.value.access),
          refresh: Redacted.make(entry.value.refresh),
          expiresAt: entry.value.expires,
          accountId: accountIdFrom(entry.value),
        })
      }),
      Effect.withSpan("MainAccountFile.read"),
    )

    const write = Effect.fn("MainAccountFile.write")(function* (tokens: TokenSet) {
      const json = yield* load(files, path, label)
      const previous = isObject(json[key]) ? (json[key] as JsonObject) : {}
      const next: JsonObject = {
        ...json,
        [key]: {
          ...previous,
          type: "oauth",
          access: Redacted.value(tokens.access),
          refresh: Redacted.value(tokens.refresh),
          expires: tokens.expiresAt,
          accountId: tokens.accountId,
        },
      }
      yield* files
        .writeAtomic(path, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 })
        .pipe(Effect.mapError((e) => failed(`cannot write ${label} ${path}: ${e.message}`)))
    })

    return MainCredentials.of({ read, write })
  })

export const MainAccountFile = {
  layer: (options: MainAccountFileOptions): Layer.Layer<MainCredentials, never, Files> =>
    Layer.effect(MainCredentials, make(options)),
}
