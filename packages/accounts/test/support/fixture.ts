/**
 * A complete accounts runtime against the simulator: a temp store, an in-memory host auth store standing in
 * for OpenCode's `auth.json`, the real token client, transports and routed client.
 */
import { afterAll, beforeAll } from "bun:test"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { decodeHostRequestResult, type HostRequest } from "@cortexkit/openai-auth-core/HostRequest"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { Issuer, type TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { type ResolvedSettings, resolveSettings } from "@cortexkit/openai-auth-core/Settings"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import {
  type SimAccount,
  type SimulatorHandle,
  type SimulatorOptions,
  startSimulator,
} from "@cortexkit/openai-auth-testkit/Simulator"
import { Transports } from "@cortexkit/openai-auth-transports/Transports"
import { Effect, Layer, Option, Redacted, Result } from "effect"
import { testSource } from "../../../core/test/support/settings.ts"
import { Credentials, type HostTokens, MainCredentials } from "../../src/Credentials.ts"
import { FileLock } from "../../src/FileLock.ts"
import { QuotaCache } from "../../src/QuotaCache.ts"
import { RoutedClient } from "../../src/RoutedClient.ts"
import { Store } from "../../src/Store.ts"
import type { Account } from "../../src/StoreSchema.ts"

/**
 * The scaffold of a suite against the simulator: started before the first test, stopped after the last,
 * with a temp directory and a list of what held, printed at the end under `tag` (`[faults]`, `[security]`).
 */
export const simulatorSuite = (prefix: string, tag: string, options?: SimulatorOptions) => {
  let sim: SimulatorHandle | undefined
  const root = tempDir(prefix)
  const held: Array<string> = []
  beforeAll(async () => {
    sim = await startSimulator(options)
  })
  afterAll(async () => {
    await sim?.stop()
    root[Symbol.dispose]()
    if (held.length > 0) console.log(`${tag} held:\n  ${held.join("\n  ")}`)
  })
  return {
    root: root.dir,
    held,
    get sim(): SimulatorHandle {
      if (sim === undefined) throw new Error("the simulator starts before the first test")
      return sim
    },
  }
}

export const tempDir = (prefix = "oa-accounts-") => {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) }
}

export const settingsFor = (sim: SimulatorHandle, extra: Record<string, string> = {}): ResolvedSettings => {
  const resolved = resolveSettings(
    testSource({
      CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
      CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
      CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
      ...extra,
    }),
    undefined,
    { tmpDir: tmpdir(), homeDir: tmpdir() },
  )
  if (Result.isFailure(resolved)) throw new Error(resolved.failure.message)
  return resolved.success
}

/** OpenCode's auth store, in memory: what `client.auth.set` would write. */
export class HostStore {
  tokens: HostTokens | undefined
  writes = 0
  constructor(account?: SimAccount) {
    if (account !== undefined) this.tokens = hostTokens(account)
  }
  readonly layer = Layer.sync(MainCredentials, () => ({
    read: Effect.sync(() => Option.fromNullishOr(this.tokens)),
    write: (t: TokenSet) =>
      Effect.sync(() => {
        this.writes++
        this.tokens = { access: t.access, refresh: t.refresh, expiresAt: t.expiresAt, accountId: t.accountId }
      }),
  }))
}

export const hostTokens = (account: SimAccount, expiresAt = Date.now() + account.tokens.expiresIn * 1000) => ({
  access: Redacted.make(account.tokens.access),
  refresh: Redacted.make(account.tokens.refresh),
  expiresAt,
  accountId: account.accountId,
})

export const fallbackAccount = (account: SimAccount, extra: Partial<Account> = {}): Account => ({
  id: account.accountId,
  userId: account.userId,
  email: account.email,
  plan: account.plan,
  access: Redacted.make(account.tokens.access),
  refresh: Redacted.make(account.tokens.refresh),
  expiresAt: Date.now() + account.tokens.expiresIn * 1000,
  addedAt: Date.now(),
  state: "active",
  ...extra,
})

export const accountsLayer = (options: { sim: SimulatorHandle; storePath: string; host: HostStore }) => {
  const files = Files.layer
  const lock = FileLock.layer.pipe(Layer.provide(files))
  const store = Store.layerAt(options.storePath).pipe(Layer.provide(Layer.merge(files, lock)))
  const issuer = Layer.succeed(Issuer, options.sim.url)
  const base = Layer.mergeAll(store, lock, files, TokenClient.layer, options.host.layer, issuer)
  const credentials = Credentials.layer.pipe(Layer.provideMerge(base))
  const quota = QuotaCache.layer.pipe(Layer.provide(store))
  const routed = RoutedClient.layer.pipe(Layer.provideMerge(Layer.mergeAll(credentials, quota, Transports.layer)))
  // what the services log (refreshes, usage limits) stays out of the test output; a test that checks the log
  // provides its own capture over this
  return routed.pipe(Layer.provideMerge(Logger.layerSilent))
}

/** The body OpenCode sends for a main turn (system prompt already moved into `instructions`). */
export const hostRequest = (
  sessionId: string,
  text = "hello",
  extraInput: ReadonlyArray<unknown> = [],
): HostRequest => {
  const body = {
    model: "gpt-5.5",
    input: [...extraInput, { role: "user", content: [{ type: "input_text", text }] }],
    store: false,
    instructions: "You are a coding agent.",
    include: ["reasoning.encrypted_content"],
    prompt_cache_key: sessionId,
    reasoning: { effort: "medium", summary: "auto" },
    tools: [
      { type: "function", name: "read", description: "read a file", strict: false, parameters: { type: "object" } },
    ],
    tool_choice: "auto",
    stream: true,
  }
  const decoded = decodeHostRequestResult({
    url: "https://api.openai.com/v1/responses",
    method: "POST",
    headers: { "content-type": "application/json", "session-id": sessionId, authorization: "Bearer dummy" },
    body: JSON.stringify(body),
  })
  if (Result.isFailure(decoded)) throw new Error(decoded.failure.message)
  return decoded.success
}

export const readAll = async (stream: ReadableStream<Uint8Array>) => new Response(stream).text()
