/**
 * One process of a refresh race: asks for the fallback account's access token (which is expired, so a
 * refresh is needed, under the store lock) and prints the token it got, or `failed <cause>` with exit 1.
 * Args: <store path> <issuer url> <account key> [stale limit of the lock, ms].
 */
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { Issuer } from "@cortexkit/openai-auth-core/OAuth"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { Effect, Layer, Redacted } from "effect"
import { Credentials, MainCredentials } from "../../src/Credentials.ts"
import { FileLock } from "../../src/FileLock.ts"
import { Store } from "../../src/Store.ts"

const [storePath = "", issuer = "", key = "", staleArg] = process.argv.slice(2)
const files = Files.layer
const lock = FileLock.layer.pipe(Layer.provide(files))
const store = Store.layerAt(
  storePath,
  staleArg === undefined ? undefined : { lock: { timeoutMs: 120_000, staleMs: Number(staleArg) } },
).pipe(Layer.provide(Layer.merge(files, lock)))
const layer = Credentials.layer.pipe(
  Layer.provide(
    Layer.mergeAll(store, lock, TokenClient.layer, MainCredentials.layerNone, Layer.succeed(Issuer, issuer)),
  ),
)
const program = Effect.gen(function* () {
  const credentials = yield* Credentials
  const grant = yield* credentials.access(key)
  return Redacted.value(grant.access)
})
// stdout carries the outcome: what the library logs (the refresh) must not go there
const exit = await Effect.runPromiseExit(program.pipe(Effect.provide(layer), Effect.provide(Logger.layerSilent)))
if (exit._tag === "Success") process.stdout.write(`${exit.value}\n`)
else {
  process.stdout.write(`failed ${JSON.stringify(exit.cause)}\n`)
  process.exitCode = 1
}
