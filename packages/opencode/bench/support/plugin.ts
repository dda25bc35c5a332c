/**
 * The plugin as OpenCode builds it, for benches: the server entry called with a minimal fake `PluginInput`,
 * its auth loader called with a getter that returns a simulator account's OAuth entry, and the resulting
 * `fetch`. Also the bits every opencode bench shares: a temp sandbox (store + log file), the env that points
 * the plugin at the simulator, OpenCode-shaped bodies with a unique session key, and stream draining.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { prepareCodexRequest } from "@cortexkit/openai-auth-core/CodexRequest"
import { decodeHostRequestResult } from "@cortexkit/openai-auth-core/HostRequest"
import type { SimAccount } from "@cortexkit/openai-auth-testkit/Simulator"
import { Redacted, Result } from "effect"
import {
  bodyOfSize,
  HOST_URL,
  hostHeaders,
  SESSION,
  turnOfSize,
  userMessage,
} from "../../../core/test/fixtures/opencode.ts"
import { OPENCODE_IDENTITY } from "../../src/OpenCodeHost.ts"

export type { PluginFetch } from "./host.ts"

export interface SimEndpoints {
  readonly url: string
  readonly codexEndpoint: string
  readonly usageEndpoint: string
}

export interface Sandbox {
  readonly dir: string
  readonly storePath: string
  readonly logPath: string
  readonly env: Record<string, string>
  readonly dispose: () => void
}

/** A temp directory with the plugin's store and log file, and the env that sends the plugin to `sim`. */
export const makeSandbox = (sim: SimEndpoints, extra: Record<string, string> = {}): Sandbox => {
  const dir = mkdtempSync(join(tmpdir(), "openai-auth-bench-"))
  const storePath = join(dir, "openai-auth.json")
  const logPath = join(dir, "openai-auth.log")
  const env = {
    CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
    CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
    CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
    OPENCODE_OPENAI_AUTH_FILE: storePath,
    OPENCODE_OPENAI_AUTH_LOG_FILE: logPath,
    OPENCODE_OPENAI_AUTH_DUMP_DIR: join(dir, "dumps"),
    ...extra,
  }
  return { dir, storePath, logPath, env, dispose: () => rmSync(dir, { recursive: true, force: true }) }
}

/** Writes a store holding `fallbacks` as fallback accounts (main stays OpenCode's login). */
export const writeStore = (path: string, fallbacks: ReadonlyArray<SimAccount>, extra: Record<string, unknown> = {}) => {
  const now = Date.now()
  const accounts = fallbacks.map((a) => ({
    id: a.accountId,
    userId: a.userId,
    email: a.email,
    plan: a.plan,
    access: a.tokens.access,
    refresh: a.tokens.refresh,
    idToken: a.tokens.idToken,
    expiresAt: now + a.tokens.expiresIn * 1000,
    addedAt: now,
  }))
  writeFileSync(path, JSON.stringify({ version: 1, accounts, routing: "main-first", ...extra }, null, 2))
}

export { type BuiltPlugin, buildPlugin, oauthEntry } from "./host.ts"

/** Sets `vars` in `process.env` and returns a function that restores what was there. */
export const withEnv = (vars: Record<string, string | undefined>): (() => void) => {
  const before: Record<string, string | undefined> = {}
  for (const [key, value] of Object.entries(vars)) {
    before[key] = process.env[key]
    if (value === undefined) delete process.env[key]
    else process.env[key] = value
  }
  return () => {
    for (const [key, value] of Object.entries(before)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  }
}

/** Reads a response body to its end; returns the byte count. */
export const drain = async (response: Response): Promise<number> => {
  if (response.body === null) return 0
  const reader = response.body.getReader()
  let bytes = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return bytes
    bytes += value.length
  }
}

export interface Timing {
  /** ms from the call to the first body chunk */
  readonly firstByte: number
  /** ms from the call to the chunk carrying the first output event (a text delta): what a host can show */
  readonly firstOutput: number | undefined
  /** ms from the call to the end of the body */
  readonly total: number
  readonly bytes: number
}

const OUTPUT_MARK = Buffer.from("response.output_text.delta")

/** Times a request: to its first body chunk, to its first output event and to its end. */
export const timeRequest = async (send: () => Promise<Response>): Promise<Timing> => {
  const start = performance.now()
  const response = await send()
  if (response.status !== 200) throw new Error(`HTTP ${response.status}: ${await response.text()}`)
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  let firstByte: number | undefined
  let firstOutput: number | undefined
  let bytes = 0
  // the end of the previous chunk, so that a mark cut in two by the network is still found
  let carry = Buffer.alloc(0)
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    firstByte ??= performance.now() - start
    bytes += value.length
    if (firstOutput === undefined) {
      const chunk = Buffer.concat([carry, Buffer.from(value.buffer, value.byteOffset, value.length)])
      if (chunk.indexOf(OUTPUT_MARK) >= 0) firstOutput = performance.now() - start
      else carry = chunk.subarray(Math.max(0, chunk.length - OUTPUT_MARK.length))
    }
  }
  if (firstByte === undefined) throw new Error("empty body")
  return { firstByte, firstOutput, total: performance.now() - start, bytes }
}

/** A session key as long as the fixtures' SESSION, so that every body keeps its size. */
export const sessionKey = (n: number): string => `ses_bench${String(n).padStart(SESSION.length - 9, "0")}`

export interface Bodies {
  /** the host request OpenCode would send for session `key` */
  readonly host: (key: string) => { readonly body: string; readonly headers: Record<string, string> }
  /** the same request already rewritten for `account`: what a bare proxy would put on the wire */
  readonly bare: (key: string) => { readonly body: Uint8Array; readonly headers: Record<string, string> }
  readonly bytes: number
}

/** OpenCode-shaped bodies of at least `size` bytes, and their pre-rewritten Codex form. */
export const bodies = (size: number, account: SimAccount, codexEndpoint: string, webSearch = true): Bodies => {
  const text = bodyOfSize(size)
  const headers = hostHeaders()
  const decoded = decodeHostRequestResult({ url: HOST_URL, method: "POST", headers, body: text })
  if (Result.isFailure(decoded)) throw decoded.failure
  const prepared = prepareCodexRequest(decoded.success, {
    accessToken: Redacted.make(account.tokens.access),
    accountId: account.accountId,
    settings: { codexApiEndpoint: codexEndpoint, webSearch },
    identity: OPENCODE_IDENTITY,
  })
  const bareText = prepared.body
  const swap = (record: Record<string, string>, key: string) =>
    Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v.replaceAll(SESSION, key)]))
  return {
    host: (key) => ({ body: text.replaceAll(SESSION, key), headers: swap(headers, key) }),
    bare: (key) => ({ body: encoder.encode(bareText.replaceAll(SESSION, key)), headers: swap(prepared.headers, key) }),
    bytes: text.length,
  }
}

const encoder = new TextEncoder()

/**
 * One more turn of a long conversation: the host body `n` is the conversation of about `size` bytes plus a
 * new user message of its own. `continuation` bodies share the conversation, as every turn after the first
 * of a session does (the plugin saw the previous turn); `cold` bodies differ from their first item on, as the
 * first request after a restart does. `bare` is the same request already rewritten, made outside the plugin.
 */
export interface TurnBodies {
  readonly host: (key: string, n: number) => { readonly body: string; readonly headers: Record<string, string> }
  readonly bare: (key: string, n: number) => { readonly body: Uint8Array; readonly headers: Record<string, string> }
  readonly bytes: number
}

export const turnBodies = (
  size: number,
  kind: "continuation" | "cold",
  account: SimAccount,
  codexEndpoint: string,
): TurnBodies => {
  const base = turnOfSize(size)
  const items = base.input as Array<unknown>
  const hostOf = (key: string, n: number) => {
    const head = kind === "cold" ? [userMessage(`A fresh start, number ${n}.`), ...items.slice(1)] : items
    const body = JSON.stringify({
      ...base,
      input: [...head, userMessage(`Next step ${n}, please.`)],
      prompt_cache_key: key,
    })
    const headers = hostHeaders({ "session-id": key, "x-session-affinity": key, "x-session-id": key })
    return { body, headers }
  }
  return {
    host: hostOf,
    bare: (key, n) => {
      const host = hostOf(key, n)
      const decoded = decodeHostRequestResult({ url: HOST_URL, method: "POST", headers: host.headers, body: host.body })
      if (Result.isFailure(decoded)) throw decoded.failure
      const prepared = prepareCodexRequest(decoded.success, {
        accessToken: Redacted.make(account.tokens.access),
        accountId: account.accountId,
        settings: { codexApiEndpoint: codexEndpoint, webSearch: true },
        identity: OPENCODE_IDENTITY,
      })
      return { body: encoder.encode(prepared.body), headers: prepared.headers }
    },
    bytes: hostOf(SESSION, 0).body.length,
  }
}
