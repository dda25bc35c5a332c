/**
 * Our registration of Pi's `openai-codex` provider. Pi keeps doing what it does well: it builds the Codex
 * request from the conversation and turns the answer's SSE into its own events, with its own built-in stream
 * (so text, reasoning, tool calls and usage arrive exactly as they do without us). We take over where that
 * stream reaches the network: it is handed our `fetch`, which runs the request through the libraries'
 * request path (rewrite, stabilizer, routing over every account, refresh, fallback before output, killswitch,
 * quota, the chosen transport), and over the login and refresh of the main account.
 */
import { zstdDecompressSync } from "node:zlib"
import type { OAuthCredentials, OAuthLoginCallbacks } from "@earendil-works/pi-ai"
import { getModels, openAICodexResponsesApi } from "@earendil-works/pi-ai/compat"
import type { ProviderConfig } from "@earendil-works/pi-coding-agent"
import type { Client, PiCredential } from "./Client.ts"
import { PROVIDER_API, PROVIDER_ID } from "./PiHost.ts"
import { type PiModel, piModels } from "./PiModels.ts"

/** How long a main account that needs a new login is left alone before Pi asks for a refresh again. */
export const RELOGIN_RECHECK_MS = 60 * 60_000

const bodyBytes = (body: unknown): Uint8Array | string | undefined => {
  if (typeof body === "string" || body instanceof Uint8Array) return body
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  return undefined
}

/** Every account waits for a login (the request path's 401 `needs_login`): the message says how, in Pi. */
const withLoginHint = async (response: Response): Promise<Response> => {
  if (response.status !== 401) return response
  const body = (await response
    .clone()
    .json()
    .catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined
  if (body?.error?.code !== "needs_login") return response
  const message = `${body.error.message}. Sign in again: /login openai-codex for the main account, /openai-account add <label> for a fallback`
  return Response.json({ error: { ...body.error, message } }, { status: 401 })
}

/**
 * The `fetch` Pi's Codex stream calls: the libraries' routed `fetch`. Pi compresses the body with zstd when
 * the runtime can (`content-encoding: zstd`); the request path reads JSON, so it is decompressed here.
 */
export const routedFetch =
  (client: () => Promise<Client>) =>
  async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const headers = new Headers(init?.headers)
    const body = bodyBytes(init?.body)
    if (headers.get("content-encoding")?.toLowerCase() !== "zstd" || body === undefined) {
      return withLoginHint(await (await client()).fetch(input, init))
    }
    headers.delete("content-encoding")
    const plain = zstdDecompressSync(typeof body === "string" ? new TextEncoder().encode(body) : body)
    return withLoginHint(await (await client()).fetch(input, { ...init, headers, body: new Uint8Array(plain) }))
  }

const LOGIN_METHODS = [
  { id: "browser", label: "ChatGPT Plus/Pro in the browser (default)" },
  { id: "device", label: "ChatGPT Plus/Pro with a device code (headless, SSH)" },
]

const login = async (client: () => Promise<Client>, callbacks: OAuthLoginCallbacks): Promise<OAuthCredentials> => {
  const c = await client()
  const method = (await callbacks.onSelect({ message: "Sign in to ChatGPT:", options: LOGIN_METHODS })) ?? "browser"
  // Pi keeps the main login in its auth.json itself: the libraries only hand the tokens back
  const options = { saveAs: "none" as const, ...(callbacks.signal === undefined ? {} : { signal: callbacks.signal }) }
  if (method === "device") {
    const device = await c.login.device(options)
    callbacks.onDeviceCode({
      userCode: device.userCode,
      verificationUri: device.verificationUrl,
      expiresInSeconds: Math.max(1, Math.round((device.expiresAt - Date.now()) / 1000)),
    })
    return c.asMain(device.completed)
  }
  const browser = await c.login.browser(options)
  callbacks.onAuth({
    url: browser.url,
    instructions: "Complete the ChatGPT login in your browser; Pi continues by itself.",
  })
  return c.asMain(browser.completed)
}

/**
 * Pi refreshes under its lock on `auth.json` once less than five minutes are left; the token is spent by
 * us, once. A refresh token that is dead for good (used elsewhere, revoked) marks the main account as
 * needing a new login in our store, and Pi gets its old credential back with a later expiry: the turn
 * then goes to the fallback accounts (or says that `/login openai-codex` is needed) instead of failing in
 * Pi's auth layer.
 */
const refresh = async (client: () => Promise<Client>, credential: OAuthCredentials): Promise<OAuthCredentials> => {
  const outcome = await (await client()).refreshForPi(credential.refresh)
  if (outcome.ok) return { ...credential, ...outcome.credential } satisfies PiCredential
  if (!outcome.permanent) throw new Error(`ChatGPT token refresh failed: ${outcome.message}`)
  return { ...credential, expires: Date.now() + RELOGIN_RECHECK_MS, needsRelogin: true }
}

export const providerConfig = (client: () => Promise<Client>): ProviderConfig => {
  const fetch = routedFetch(client)
  // Pi's own Codex stream (request building, SSE parsing, event mapping), resolved to Pi's copy of pi-ai
  const codex = openAICodexResponsesApi()
  const models = piModels(getModels(PROVIDER_ID) as unknown as ReadonlyArray<PiModel>)
  return {
    name: "OpenAI Codex (ChatGPT, openai-auth)",
    api: PROVIDER_API,
    models: models as unknown as NonNullable<ProviderConfig["models"]>,
    oauth: {
      name: "ChatGPT Plus/Pro (openai-auth: fallback accounts, quota)",
      isSubscription: true,
      login: (callbacks) => login(client, callbacks),
      refreshToken: (credential) => refresh(client, credential),
      getApiKey: (credential) => credential.access,
    },
    streamSimple: (model, context, options) =>
      // SSE: Pi's stream then calls `fetch`, and our transports decide how the request really travels
      codex.streamSimple(model, context, { ...options, transport: "sse", fetch: fetch as typeof globalThis.fetch }),
  }
}
