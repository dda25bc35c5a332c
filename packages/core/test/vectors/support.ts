/**
 * Runs a host body through our rewrite the way the plugin does (decode, prepare), for the vectors ported
 * from other implementations' public test suites. Each vector names its source repository, file and test.
 */
import {
  type CodexRequestContext,
  prepareCodexRequest,
  type RewriteSettings,
} from "@cortexkit/openai-auth-core/CodexRequest"
import { decodeHostRequestResult } from "@cortexkit/openai-auth-core/HostRequest"
import { Redacted, Result } from "effect"

export type Json = Record<string, unknown>

export const SETTINGS: RewriteSettings = {
  codexApiEndpoint: "http://127.0.0.1:9/backend-api/codex/responses",
  webSearch: true,
}

export const ctx = (settings: Partial<RewriteSettings> = {}): CodexRequestContext => ({
  accessToken: Redacted.make("vector-access-token"),
  accountId: "acct_vector",
  settings: { ...SETTINGS, ...settings },
  identity: { originator: "opencode", userAgent: "opencode/1.18.33" },
})

/** The prepared request for a host body (JSON text as the host sends it) and host headers. */
export const prepare = (
  body: Json,
  headers: Record<string, string> = { "session-id": "ses_vector" },
  settings: Partial<RewriteSettings> = {},
) => {
  const decoded = decodeHostRequestResult({
    url: "https://api.openai.com/v1/responses",
    method: "POST",
    headers,
    body: JSON.stringify(body),
  })
  if (Result.isFailure(decoded)) throw decoded.failure
  const prepared = prepareCodexRequest(decoded.success, ctx(settings))
  return { ...prepared, wire: JSON.parse(prepared.body) as Json }
}

/** The wire `input` for a host `input` (model gpt-5.5, instructions set so nothing is lifted). */
export const wireInput = (input: ReadonlyArray<unknown>, model = "gpt-5.5"): Array<Json> =>
  prepare({ model, instructions: "Test instructions", input }).wire.input as Array<Json>

export const user = (content: unknown) => ({ type: "message", role: "user", content })
export const call = (call_id: string, name = "read", extra: Json = {}) => ({
  type: "function_call",
  call_id,
  name,
  arguments: "{}",
  ...extra,
})
export const output = (call_id: string, text = "ok", extra: Json = {}) => ({
  type: "function_call_output",
  call_id,
  output: text,
  ...extra,
})
