/**
 * All mutable simulator state behind one class. The in-process handle, the HTTP/WS handlers and the admin API
 * all call these methods, so a test driving the simulator in-process and a separate process driving it over
 * `/__sim/*` see exactly the same behaviour.
 */
import { mintJwt, randomId } from "./SimJwt.ts"
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

export const DEFAULT_CLIENT_ID = "app_EMoamEEZ73f0CkXaXp7hrann"

export const defaultQuota: SimQuota = {
  primaryUsedPercent: 0,
  primaryWindowMinutes: 300,
  primaryResetAfterSeconds: 18000,
  secondaryUsedPercent: 0,
  secondaryWindowMinutes: 10080,
  secondaryResetAfterSeconds: 604800,
  hasCredits: false,
  unlimited: false,
  balance: "0",
  activeLimit: "codex",
}

interface AccessEntry {
  readonly accountId: string
  /** epoch ms */
  expiresAt: number
}

interface RefreshEntry {
  readonly accountId: string
  used: boolean
}

export interface AuthCode {
  readonly accountId: string
  readonly challenge: string
  readonly redirectUri: string
  used: boolean
}

export interface DeviceAuth {
  readonly userCode: string
  polls: number
  code?: { readonly authorizationCode: string; readonly challenge: string; readonly verifier: string }
}

export class SimState {
  readonly now: () => number
  readonly clientId: string
  readonly expiresIn: number
  readonly wsMaxAgeMs: number
  readonly defaultText: string
  deviceInterval: string
  deviceApproveAfterPolls: number

  readonly accounts = new Map<string, SimAccount>()
  readonly access = new Map<string, AccessEntry>()
  readonly refreshTokens = new Map<string, RefreshEntry>()
  readonly codes = new Map<string, AuthCode>()
  readonly devices = new Map<string, DeviceAuth>()
  readonly scripts = new Map<string, Array<ScriptStep>>()
  readonly refreshFailures = new Map<string, Array<RefreshFailure>>()
  readonly quotas = new Map<string, SimQuota>()
  /** prompt-cache history: `${accountId}\0${prompt_cache_key}` -> rendered prompts */
  readonly cache = new Map<string, Array<Uint8Array>>()
  readonly requests: Array<SimRequest> = []
  readonly refreshes: Array<SimRefresh> = []
  /** every secret the simulator handed out (tokens, authorization codes, device verifiers), for leak scans */
  readonly issued = new Set<string>()
  nextLoginQueue: Array<string> = []
  deniedQueue: Array<{ readonly error: string; readonly description?: string }> = []
  private readonly listeners = new Set<(request: SimRequest) => void>()

  constructor(private readonly options: SimulatorOptions = {}) {
    this.now = options.now ?? Date.now
    this.clientId = options.clientId ?? DEFAULT_CLIENT_ID
    this.expiresIn = options.expiresIn ?? 3600
    this.wsMaxAgeMs = options.wsMaxAgeMs ?? 60 * 60 * 1000
    this.defaultText = options.defaultText ?? "Hello from the Codex simulator."
    this.deviceInterval = options.deviceInterval ?? "1"
    this.deviceApproveAfterPolls = options.deviceApproveAfterPolls ?? 1
  }

  addAccount(init: AccountInit): SimAccount {
    const base = {
      accountId: init.accountId,
      userId: init.userId ?? `user_${init.accountId}`,
      email: init.email ?? `${init.accountId}@example.test`,
      plan: init.plan ?? "plus",
    }
    const account: SimAccount = { ...base, tokens: this.mintFor(base) }
    this.accounts.set(account.accountId, account)
    return account
  }

  private mintFor(identity: Omit<SimAccount, "tokens">, expiresIn = this.expiresIn): SimTokens {
    const nowMs = this.now()
    const access = mintJwt(identity, { nowMs, expiresIn, kind: "access" })
    const idToken = mintJwt(identity, { nowMs, expiresIn, kind: "id" })
    const refresh = randomId("rt_sim_", 24)
    for (const secret of [access, idToken, refresh]) this.issued.add(secret)
    this.access.set(access, { accountId: identity.accountId, expiresAt: nowMs + expiresIn * 1000 })
    this.refreshTokens.set(refresh, { accountId: identity.accountId, used: false })
    return { access, refresh, idToken, expiresIn }
  }

  /** a fresh, independent token set for an existing account */
  issueTokens(accountId: string, expiresIn?: number): SimTokens {
    const account = this.requireAccount(accountId)
    return this.mintFor(account, expiresIn)
  }

  requireAccount(accountId: string): SimAccount {
    const account = this.accounts.get(accountId)
    if (account === undefined) throw new Error(`simulator: unknown account ${accountId}`)
    return account
  }

  /** every access token of the account answers 401 from now on */
  expireAccessTokens(accountId: string): void {
    const past = this.now() - 1
    for (const entry of this.access.values()) if (entry.accountId === accountId) entry.expiresAt = past
  }

  checkAccess(token: string): { readonly accountId: string } | "expired" | "unknown" {
    const entry = this.access.get(token)
    if (entry === undefined) return "unknown"
    if (entry.expiresAt <= this.now()) return "expired"
    return { accountId: entry.accountId }
  }

  script(accountId: string, ...steps: ReadonlyArray<ScriptStep>): void {
    const queue = this.scripts.get(accountId) ?? []
    queue.push(...steps)
    this.scripts.set(accountId, queue)
  }

  nextStep(accountId: string): ScriptStep | undefined {
    return this.scripts.get(accountId)?.shift()
  }

  scriptRefresh(accountId: string, ...failures: ReadonlyArray<RefreshFailure>): void {
    const queue = this.refreshFailures.get(accountId) ?? []
    queue.push(...failures)
    this.refreshFailures.set(accountId, queue)
  }

  setQuota(accountId: string, quota: Partial<SimQuota>): SimQuota {
    const merged = { ...this.quota(accountId), ...quota }
    this.quotas.set(accountId, merged)
    return merged
  }

  quota(accountId: string): SimQuota {
    return this.quotas.get(accountId) ?? defaultQuota
  }

  planOf(accountId: string): string {
    return this.quotas.get(accountId)?.planType ?? this.accounts.get(accountId)?.plan ?? "plus"
  }

  nextLogin(accountId: string): void {
    this.nextLoginQueue.push(accountId)
  }

  authorizeDenied(error = "access_denied", description?: string): void {
    this.deniedQueue.push(description === undefined ? { error } : { error, description })
  }

  /** the account the next approved login signs in as */
  takeLoginAccount(): SimAccount | undefined {
    const chosen = this.nextLoginQueue.shift()
    if (chosen !== undefined) return this.accounts.get(chosen)
    return this.accounts.values().next().value
  }

  setDevice(settings: DeviceSettings): void {
    if (settings.interval !== undefined) this.deviceInterval = settings.interval
    if (settings.approveAfterPolls !== undefined) this.deviceApproveAfterPolls = settings.approveAfterPolls
  }

  record(request: SimRequest): SimRequest {
    this.requests.push(request)
    for (const listener of this.listeners) listener(request)
    return request
  }

  /** resolves with the first recorded request (past or future) matching the predicate */
  waitForRequest(predicate: (request: SimRequest) => boolean, timeoutMs = 10_000): Promise<SimRequest> {
    const found = this.requests.find(predicate)
    if (found !== undefined) return Promise.resolve(found)
    return new Promise((resolve, reject) => {
      const listener = (request: SimRequest) => {
        if (!predicate(request)) return
        clearTimeout(timer)
        this.listeners.delete(listener)
        resolve(request)
      }
      const timer = setTimeout(() => {
        this.listeners.delete(listener)
        reject(new Error(`simulator: no matching request within ${timeoutMs} ms`))
      }, timeoutMs)
      this.listeners.add(listener)
    })
  }

  /** forget everything: accounts, tokens, scripts, quotas, cache and records */
  reset(): void {
    for (const map of [
      this.accounts,
      this.access,
      this.refreshTokens,
      this.codes,
      this.devices,
      this.scripts,
      this.refreshFailures,
      this.quotas,
      this.cache,
    ] as ReadonlyArray<Map<string, unknown>>)
      map.clear()
    this.requests.length = 0
    this.refreshes.length = 0
    this.issued.clear()
    this.nextLoginQueue = []
    this.deniedQueue = []
    this.deviceInterval = this.options.deviceInterval ?? "1"
    this.deviceApproveAfterPolls = this.options.deviceApproveAfterPolls ?? 1
  }
}
