/**
 * A Codex-compatible backend and OAuth issuer on 127.0.0.1 for tests, benchmarks and the demo: one `Bun.serve`
 * serving OAuth (browser PKCE + device flow), `/backend-api/codex/responses` over SSE and WebSocket,
 * `/backend-api/wham/usage`, and the `/__sim/*` admin API. Use `startSimulator()` from plain Promise code or
 * the scoped `Simulator.layer` from Effect code.
 */
import { Context, Effect, Layer } from "effect"
import { handleAdmin } from "./SimAdmin.ts"
import { handleResponsesHttp, handleUsage } from "./SimCodex.ts"
import { json } from "./SimHttp.ts"
import { authorize, deviceToken, deviceUserCode, token } from "./SimOAuth.ts"
import { type SocketData, socketHandler, upgrade } from "./SimSocket.ts"
import { SimState } from "./SimState.ts"
import type {
  AccountInit,
  DeviceSettings,
  RefreshFailure,
  ScriptStep,
  SimAccount,
  SimQuota,
  SimRefresh,
  SimRequest,
  SimTokens,
  SimulatorOptions,
} from "./SimTypes.ts"

export type * from "./SimTypes.ts"

export const CODEX_PATH = "/backend-api/codex/responses"
export const USAGE_PATH = "/backend-api/wham/usage"

export interface SimulatorHandle {
  /** `http://127.0.0.1:<port>`, also the OAuth issuer */
  readonly url: string
  readonly port: number
  readonly codexEndpoint: string
  /** the same endpoint with the ws: scheme */
  readonly wsEndpoint: string
  readonly usageEndpoint: string
  addAccount(init: AccountInit): SimAccount
  accounts(): ReadonlyArray<SimAccount>
  /** mint another independent token set for an account */
  issueTokens(accountId: string, expiresIn?: number): SimTokens
  /** make every access token of the account answer 401 token_expired */
  expireAccessTokens(accountId: string): void
  /** queue answers for the account's next Codex requests (FIFO; unscripted requests get the default reply) */
  script(accountId: string, ...steps: ReadonlyArray<ScriptStep>): void
  /** queue failures for the account's next refresh grants */
  scriptRefresh(accountId: string, ...failures: ReadonlyArray<RefreshFailure>): void
  setQuota(accountId: string, quota: Partial<SimQuota>): SimQuota
  /** the next approved login (browser or device) signs in as this account; default: the first account */
  nextLogin(accountId: string): void
  /** the next authorize redirect carries `error` (default access_denied) instead of a code */
  authorizeDenied(error?: string, description?: string): void
  setDevice(settings: DeviceSettings): void
  readonly requests: ReadonlyArray<SimRequest>
  readonly refreshes: ReadonlyArray<SimRefresh>
  /** every secret handed out so far, whatever its shape: tokens, authorization codes, device code verifiers */
  issuedSecrets(): ReadonlyArray<string>
  /** resolves with the first recorded request (already recorded or future) that matches */
  waitForRequest(predicate: (request: SimRequest) => boolean, timeoutMs?: number): Promise<SimRequest>
  reset(): void
  stop(): Promise<void>
}

const route = (state: SimState, server: Bun.Server<SocketData>, request: Request, issuer: string) => {
  const url = new URL(request.url)
  const path = url.pathname
  const method = request.method
  if (path.startsWith("/__sim/")) return handleAdmin(state, request, path)
  if (path === CODEX_PATH) {
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") return upgrade(state, server, request, path)
    if (method === "POST") return handleResponsesHttp(state, request, path)
  }
  if (path === USAGE_PATH && method === "GET") return handleUsage(state, request, path)
  if (path === "/oauth/authorize" && method === "GET") return authorize(state, url, issuer)
  if (path === "/oauth/token" && method === "POST") return token(state, request)
  if (path === "/api/accounts/deviceauth/usercode" && method === "POST") return deviceUserCode(state, request)
  if (path === "/api/accounts/deviceauth/token" && method === "POST") return deviceToken(state, request, issuer)
  if (path === "/codex/device" && method === "GET") return new Response("Simulated device approval page")
  return json({ detail: "Not Found" }, 404)
}

export const startSimulator = async (options: SimulatorOptions = {}): Promise<SimulatorHandle> => {
  const state = new SimState(options)
  let issuer = ""
  const server: Bun.Server<SocketData> = Bun.serve<SocketData>({
    hostname: "127.0.0.1",
    port: options.port ?? 0,
    idleTimeout: 0,
    fetch: (request, srv) => route(state, srv, request, issuer),
    websocket: socketHandler(state),
  })
  const port = server.port ?? 0
  issuer = `http://127.0.0.1:${port}`
  return {
    url: issuer,
    port,
    codexEndpoint: `${issuer}${CODEX_PATH}`,
    wsEndpoint: `ws://127.0.0.1:${port}${CODEX_PATH}`,
    usageEndpoint: `${issuer}${USAGE_PATH}`,
    addAccount: (init) => state.addAccount(init),
    accounts: () => [...state.accounts.values()],
    issueTokens: (accountId, expiresIn) => state.issueTokens(accountId, expiresIn),
    expireAccessTokens: (accountId) => state.expireAccessTokens(accountId),
    script: (accountId, ...steps) => state.script(accountId, ...steps),
    scriptRefresh: (accountId, ...failures) => state.scriptRefresh(accountId, ...failures),
    setQuota: (accountId, quota) => state.setQuota(accountId, quota),
    nextLogin: (accountId) => state.nextLogin(accountId),
    authorizeDenied: (error, description) => state.authorizeDenied(error, description),
    setDevice: (settings) => state.setDevice(settings),
    get requests() {
      return state.requests
    },
    get refreshes() {
      return state.refreshes
    },
    issuedSecrets: () => [...state.issued],
    waitForRequest: (predicate, timeoutMs) => state.waitForRequest(predicate, timeoutMs),
    reset: () => state.reset(),
    stop: () => server.stop(true),
  }
}

/** The simulator as an Effect service; `layer` starts it on acquire and stops it when the scope closes. */
export class Simulator extends Context.Service<Simulator, SimulatorHandle>()(
  "@cortexkit/openai-auth-testkit/Simulator",
) {
  static readonly layerWith = (options: SimulatorOptions = {}): Layer.Layer<Simulator> =>
    Layer.effect(
      Simulator,
      Effect.acquireRelease(
        Effect.promise(() => startSimulator(options)),
        (sim) => Effect.promise(() => sim.stop()),
      ),
    )
  static readonly layer: Layer.Layer<Simulator> = Simulator.layerWith()
}
