/**
 * The main account for processes that run outside OpenCode (the CLI): OpenCode's own `auth.json`, read and
 * written directly. Only the `openai` OAuth entry is ours to touch; every other provider's entry, and any key
 * of the `openai` entry we do not know, is written back as it was, atomically and with mode 0600.
 */
import { homedir } from "node:os"
import { join } from "node:path"
import { type HostTokens, MainCredentials, MainCredentialsError } from "@cortexkit/openai-auth-accounts/Credentials"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { accountIdOf, parseClaims } from "@cortexkit/openai-auth-core/Jwt"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Effect, Layer, Option, Redacted, Result, Schema } from "effect"

export const PROVIDER_ID = "openai"

/** `$XDG_DATA_HOME/opencode/auth.json`, default `~/.local/share/opencode/auth.json` */
export const hostAuthPath = (env: Readonly<Record<string, string | undefined>>, home: string = homedir()): string => {
  const xdg = env.XDG_DATA_HOME?.trim()
  return join(xdg === undefined || xdg === "" ? join(home, ".local", "share") : xdg, "opencode", "auth.json")
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
const load = (files: Files["Service"], path: string) =>
  Effect.gen(function* () {
    const text = yield* files
      .readText(path)
      .pipe(Effect.mapError((e) => failed(`cannot read OpenCode's auth file ${path}: ${e.message}`)))
    if (Option.isNone(text) || text.value.trim() === "") return {} as JsonObject
    const parsed = parseJson(text.value)
    if (!isObject(parsed)) return yield* failed(`OpenCode's auth file ${path} is not a JSON object`)
    return parsed
  })

const accountIdFrom = (entry: { readonly accountId?: string; readonly access: string }) => {
  if (entry.accountId !== undefined && entry.accountId !== "") return entry.accountId
  const claims = parseClaims(entry.access, "access token")
  return Result.isSuccess(claims) ? accountIdOf(claims.success) : undefined
}

export const makeAt = (path: string) =>
  Effect.gen(function* () {
    const files = yield* Files

    const read = load(files, path).pipe(
      Effect.map((json): Option.Option<HostTokens> => {
        const entry = decodeEntry(json[PROVIDER_ID])
        if (Option.isNone(entry)) return Option.none()
        return Option.some({
          access: Redacted.make(entry.value.access),
          refresh: Redacted.make(entry.value.refresh),
          expiresAt: entry.value.expires,
          accountId: accountIdFrom(entry.value),
        })
      }),
      Effect.withSpan("HostAuthFile.read"),
    )

    const write = Effect.fn("HostAuthFile.write")(function* (tokens: TokenSet) {
      const json = yield* load(files, path)
      const previous = isObject(json[PROVIDER_ID]) ? (json[PROVIDER_ID] as JsonObject) : {}
      const next: JsonObject = {
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
      yield* files
        .writeAtomic(path, `${JSON.stringify(next, null, 2)}\n`, { mode: 0o600 })
        .pipe(Effect.mapError((e) => failed(`cannot write OpenCode's auth file ${path}: ${e.message}`)))
    })

    return MainCredentials.of({ read, write })
  })

export const HostAuthFile = {
  layerAt: (path: string): Layer.Layer<MainCredentials, never, Files> => Layer.effect(MainCredentials, makeAt(path)),
  /** at OpenCode's default location for this environment */
  layer: (env: Readonly<Record<string, string | undefined>>): Layer.Layer<MainCredentials, never, Files> =>
    Layer.effect(MainCredentials, makeAt(hostAuthPath(env))),
}
