/**
 * Everything the extension asks of the libraries, behind one Promise API: the routed `fetch`, logins,
 * the refresh Pi asks for, the commands, and the quota of the serving account. Nothing outside this module
 * touches an Effect service, so moving onto the libraries' facade (`createCodexClient`) changes this file
 * only (docs/pi.md, "Built on").
 *
 * The main account lives in Pi's `auth.json` (AuthFile.ts); fallback accounts, routing, killswitch and
 * quota in `openai-auth.json` beside it. One `ManagedRuntime` holds the services; Pi never sees an Effect.
 */
import { tmpdir } from "node:os"
import { join } from "node:path"
import { accountServices } from "@cortexkit/openai-auth-accounts/AccountServices"
import { commandServices } from "@cortexkit/openai-auth-accounts/CommandServices"
import { type Command, parseCommand, splitArguments } from "@cortexkit/openai-auth-accounts/CommandSyntax"
import {
  type AccountsData,
  type CommandResult,
  type QuotaData,
  runCommand,
} from "@cortexkit/openai-auth-accounts/Commands"
import { PERMANENT_REFRESH_FAILURES } from "@cortexkit/openai-auth-accounts/Credentials"
import { displayName, formatAccounts, formatQuota } from "@cortexkit/openai-auth-accounts/Format"
import { QuotaCache } from "@cortexkit/openai-auth-accounts/QuotaCache"
import { type SidebarModel, sidebarModel } from "@cortexkit/openai-auth-accounts/QuotaView"
import { RoutedClient } from "@cortexkit/openai-auth-accounts/RoutedClient"
import { StateFile } from "@cortexkit/openai-auth-accounts/StateFile"
import { Store } from "@cortexkit/openai-auth-accounts/Store"
import { emptyDocument, type StoreDocument } from "@cortexkit/openai-auth-accounts/StoreSchema"
import { authorizeBrowser } from "@cortexkit/openai-auth-core/CallbackServer"
import { DeviceFlow } from "@cortexkit/openai-auth-core/DeviceFlow"
import { HostBodyMemo } from "@cortexkit/openai-auth-core/HostBodyMemo"
import { decodeHostRequestResult, type RawHostRequest } from "@cortexkit/openai-auth-core/HostRequest"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { type ResolvedSettings, resolveSettings, Settings } from "@cortexkit/openai-auth-core/Settings"
import { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import type { TransportShape } from "@cortexkit/openai-auth-transports/Transport"
import { Transports } from "@cortexkit/openai-auth-transports/Transports"
import { Effect, Exit, Layer, ManagedRuntime, Redacted, Result, Scope } from "effect"
import { PiAuthFile } from "./AuthFile.ts"
import { NodeCallbackServer } from "./NodeCallback.ts"
import { DUMP_DIR_NAME, type Env, LOG_FILE_NAME, ORIGINATOR, PiEnv } from "./PiHost.ts"
import { errorResponse } from "./Refusals.ts"

export interface ClientOptions {
  readonly env: Env
  readonly homeDir: string
  /** Pi's `auth.json` */
  readonly authPath: string
  /** our settings and account store */
  readonly settingsPath: string
}

/**
 * Pre-facade: the libraries read OpenCode's names for the four host-specific settings, so Pi's names are
 * mapped onto them here (and a user's own OpenCode variables never leak into Pi).
 */
export const libraryEnv = (options: ClientOptions): Env => {
  const env: Record<string, string | undefined> = { ...options.env }
  const pi = (name: string) => {
    const value = options.env[name]?.trim()
    return value === undefined || value === "" ? undefined : value
  }
  env.OPENCODE_OPENAI_AUTH_FILE = options.settingsPath
  env.OPENCODE_OPENAI_AUTH_DUMP_DIR = pi(PiEnv.dumpDir) ?? join(tmpdir(), DUMP_DIR_NAME)
  env.OPENCODE_OPENAI_AUTH_LOG_FILE = pi(PiEnv.logFile) ?? join(tmpdir(), LOG_FILE_NAME)
  env.OPENCODE_OPENAI_AUTH_LOG_LEVEL = pi(PiEnv.logLevel)
  return env
}

/** Pre-facade: the rewrite names OpenCode as the originator; Pi's requests say `pi`, as Pi's own do. */
const asPi = (transport: TransportShape): TransportShape => ({
  kind: transport.kind,
  send: (request, onEvent) =>
    transport.send({ ...request, headers: { ...request.headers, originator: ORIGINATOR } }, onEvent),
})
const PiTransports = Layer.effect(
  Transports,
  Effect.gen(function* () {
    const base = yield* Transports
    return Transports.of({
      http: asPi(base.http),
      websocket: asPi(base.websocket),
      raw: asPi(base.raw),
      select: (choice) => asPi(base.select(choice)),
    })
  }),
).pipe(Layer.provide(Transports.layer))

/** The services behind the client: also what a tool outside Pi (the CLI) composes for Pi's accounts. */
export const piClientLayer = (options: ClientOptions) => {
  const env = libraryEnv(options)
  const main = Layer.merge(PiAuthFile.layerAt(options.authPath), Logger.layer)
  // a bad settings file must not take Pi's provider down: it is reported on every request instead
  const accounts = accountServices(main, Settings.layerFrom(env, { ignoreBadFile: true }))
  return RoutedClient.layer.pipe(Layer.provideMerge(PiTransports), Layer.provideMerge(accounts))
}

export type RefreshOutcome =
  | { readonly ok: true; readonly credential: PiCredential }
  /** permanent: the refresh token is dead (used elsewhere, revoked, expired): only a new login helps */
  | { readonly ok: false; readonly permanent: boolean; readonly message: string }

export interface CommandOutcome {
  readonly ok: boolean
  /** the summary, with the table under it for listings */
  readonly text: string
  /** how the user names each account, for a listing */
  readonly accounts?: ReadonlyArray<string>
}

export interface DeviceLogin {
  readonly userCode: string
  readonly verificationUrl: string
  readonly intervalSeconds: number
  /** waits for the approval and returns the main account's new credential */
  readonly asMain: () => Promise<PiCredential>
  /** waits for the approval and adds the account as a fallback (`account add [label]` arguments) */
  readonly asFallback: (args: string) => Promise<CommandOutcome>
}

export interface BrowserLogin {
  readonly url: string
  readonly asMain: () => Promise<PiCredential>
}

/** What an account login returns to Pi to keep in `auth.json` (Pi's own OAuth credential shape). */
export interface PiCredential {
  readonly access: string
  readonly refresh: string
  readonly expires: number
  readonly accountId: string
  readonly [key: string]: unknown
}

export const toPiCredential = (tokens: TokenSet): PiCredential => ({
  access: Redacted.value(tokens.access),
  refresh: Redacted.value(tokens.refresh),
  expires: tokens.expiresAt,
  accountId: tokens.accountId,
})

export const createClient = (options: ClientOptions) => {
  const env = libraryEnv(options)
  const runtime = ManagedRuntime.make(
    piClientLayer(options) as Layer.Layer<Layer.Success<ReturnType<typeof piClientLayer>>>,
  )
  const memo = new HostBodyMemo()
  let lastSettings: { readonly doc: StoreDocument; readonly settings: ResolvedSettings } | undefined

  /** settings as the file is now (env over file over defaults); the startup ones when the file is bad */
  const snapshot = Effect.gen(function* () {
    const store = yield* Store
    const doc = yield* store.read.pipe(Effect.orElseSucceed(() => emptyDocument()))
    if (lastSettings?.doc === doc) return lastSettings
    const resolved = resolveSettings(env, doc, { tmpDir: tmpdir(), homeDir: options.homeDir })
    if (Result.isFailure(resolved)) {
      yield* Effect.forkDetach((yield* Logger).error("a setting is invalid", { reason: resolved.failure.message }))
      return { doc, settings: lastSettings?.settings ?? (yield* Settings) }
    }
    lastSettings = { doc, settings: resolved.success }
    return lastSettings
  })

  /** The routed request path: decode, route, refresh, rewrite, send; refusals as the backend's own answers. */
  const fetch = async (
    request: RawHostRequest & { readonly url: string; readonly signal?: AbortSignal | undefined },
    onServed?: (account: string) => void,
  ): Promise<Response> => {
    const decoded = decodeHostRequestResult(request, memo)
    if (Result.isFailure(decoded)) {
      return Response.json({ error: { type: "invalid_request", message: decoded.failure.message } }, { status: 400 })
    }
    return runtime.runPromise(
      Effect.gen(function* () {
        const { doc, settings } = yield* snapshot
        const state = yield* StateFile
        const log = yield* Logger
        // an attempt that failed before output ends too: only the end of the served answer counts
        let served: string | undefined
        let ended: string | undefined
        const sent = yield* (yield* RoutedClient)
          .send(decoded.success, {
            settings,
            document: doc,
            signal: request.signal,
            onEvent: (account, event) => {
              if (event._tag !== "Terminal") return
              ended = account
              if (served === account) onServed?.(account)
            },
          })
          .pipe(Effect.result)
        if (Result.isFailure(sent)) {
          if (sent.failure._tag === "RequestAborted") throw new DOMException("The operation was aborted.", "AbortError")
          yield* Effect.forkDetach(log.warn("request not served", { reason: sent.failure.message }))
          return errorResponse(sent.failure, Date.now())
        }
        const routed = sent.success
        served = routed.account
        if (ended === served) onServed?.(served)
        yield* Effect.forkDetach(
          state
            .update((s) => ({ ...s, lastServed: { key: routed.account, at: Date.now() } }))
            .pipe(
              Effect.andThen(
                log.debug("request served", { account: routed.account, attempts: routed.attempts.length }),
              ),
            ),
        )
        return new Response(routed.response.body, {
          status: routed.response.status,
          headers: { "content-type": "text/event-stream" },
        })
      }),
    )
  }

  /**
   * The refresh Pi asks for while it holds its lock on `auth.json`: the refresh token is spent here, once,
   * and the outcome recorded in our store before Pi writes the file and lets go (taking our store's lock
   * inside Pi's is the allowed order: see AuthFile.ts).
   */
  const refreshForPi = async (refresh: string): Promise<RefreshOutcome> =>
    runtime.runPromise(
      Effect.gen(function* () {
        const tokens = yield* TokenClient
        const store = yield* Store
        const issuer = (yield* snapshot).settings.issuer
        const outcome = yield* tokens.refresh(Redacted.make(refresh), { issuer }).pipe(Effect.result)
        if (Result.isSuccess(outcome)) {
          yield* Effect.ignore(markMain(store, undefined))
          return { ok: true as const, credential: toPiCredential(outcome.success) }
        }
        const failure = outcome.failure
        const permanent = PERMANENT_REFRESH_FAILURES.has(failure._tag)
        if (permanent) {
          yield* Effect.ignore(markMain(store, { state: "needs-relogin", needsReloginReason: failure._tag }))
        }
        return { ok: false as const, permanent, message: failure.message }
      }),
    )

  type Services = ManagedRuntime.ManagedRuntime.Services<typeof runtime>
  const commandEffect = <A, E>(effect: Effect.Effect<A, E, Services | Layer.Success<typeof commandServices>>) =>
    runtime.runPromiseExit(effect.pipe(Effect.provide(commandServices)))

  /** `signal`: the user gave up (Pi's login dialog was closed): polling stops. */
  const startDevice = async (signal?: AbortSignal): Promise<DeviceLogin> => {
    const started = await commandEffect(
      Effect.gen(function* () {
        const device = yield* DeviceFlow
        const code = yield* device.start({ issuer: (yield* snapshot).settings.issuer })
        return { code, poll: device.poll(code) }
      }),
    )
    if (Exit.isFailure(started)) throw new Error(`could not start the device login: ${String(started.cause)}`)
    const { code, poll } = started.value
    const tokens = runtime.runPromise(
      poll.pipe(Effect.provide(commandServices)),
      signal === undefined ? {} : { signal },
    )
    // a login nobody waits for (the user gave up) must not end as an unhandled rejection
    tokens.catch(() => undefined)
    return {
      userCode: code.userCode,
      verificationUrl: code.verificationUrl,
      intervalSeconds: Math.max(1, Math.round(code.intervalMs / 1000)),
      asMain: () => asMain(tokens),
      asFallback: (args) => command("account", args, () => tokens),
    }
  }

  /** `signal`: the user gave up: the callback port is released at once, not after the five-minute timeout. */
  const startBrowser = async (signal?: AbortSignal): Promise<BrowserLogin> => {
    const server = typeof Bun === "undefined" ? NodeCallbackServer : undefined
    const started = await commandEffect(
      Effect.gen(function* () {
        const scope = yield* Scope.make()
        const issuer = (yield* snapshot).settings.issuer
        const flow = yield* authorizeBrowser({ issuer, originator: ORIGINATOR }).pipe(
          Scope.provide(scope),
          server === undefined ? (e) => e : Effect.provide(server),
        )
        return { url: flow.url, wait: flow.waitForTokens.pipe(Effect.ensuring(Scope.close(scope, Exit.void))) }
      }),
    )
    if (Exit.isFailure(started)) throw new Error(`could not start the browser login: ${String(started.cause)}`)
    const tokens = runtime.runPromise(
      started.value.wait.pipe(Effect.provide(commandServices)),
      signal === undefined ? {} : { signal },
    )
    tokens.catch(() => undefined)
    return { url: started.value.url, asMain: () => asMain(tokens) }
  }

  /** A new main login; it cures a "needs re-login" mark left by a refresh that failed for good. */
  const asMain = async (tokens: Promise<TokenSet>): Promise<PiCredential> => {
    const credential = toPiCredential(await tokens)
    await runtime.runPromise(
      Effect.gen(function* () {
        yield* Effect.ignore(markMain(yield* Store, undefined))
      }),
    )
    return credential
  }

  /**
   * A slash command with the shared grammar (`name` without `openai-`). `addAccount` runs the login for
   * `account add`; it gets the label and returns the tokens.
   */
  const command = async (
    name: string,
    args: string,
    login?: (label: string | undefined) => Promise<TokenSet>,
  ): Promise<CommandOutcome> => {
    const parsed = parseCommand(name, splitArguments(args))
    if (!parsed.ok) return { ok: false, text: parsed.error }
    const hooks =
      login === undefined
        ? undefined
        : { login: (o: { readonly label?: string | undefined }) => Effect.promise(() => login(o.label)) }
    const exit = await commandEffect(runCommand(parsed.command, hooks))
    if (Exit.isSuccess(exit)) return rendered(parsed.command, exit.value, Date.now())
    return { ok: false, text: `openai-${name} failed: ${Exit.isFailure(exit) ? messageOf(exit.cause) : ""}` }
  }

  /**
   * The quota line's model for `served` (the account that just answered), else for the account that
   * served last, the switch target or main.
   */
  const status = (served?: string): Promise<SidebarModel | undefined> =>
    runtime.runPromise(
      Effect.gen(function* () {
        const doc = (yield* snapshot).doc
        const quota = yield* (yield* QuotaCache).all
        const state = yield* (yield* StateFile).current
        const now = Date.now()
        const shown = served === undefined ? state : { ...state, lastServed: { key: served, at: now } }
        return sidebarModel({ ...doc, quota: { ...doc.quota, ...Object.fromEntries(quota) } }, shown, now)
      }),
    )

  /** whether `/openai-cachekeep` is on */
  const cacheKeep = () => runtime.runPromise(Effect.map(snapshot, (s) => s.doc.cacheKeep.enabled))

  return {
    fetch,
    refreshForPi,
    startDevice,
    startBrowser,
    command,
    status,
    cacheKeep,
    dispose: () => runtime.dispose(),
  }
}

export type Client = ReturnType<typeof createClient>

const markMain = (store: Store["Service"], state: StoreDocument["main"]) =>
  store.update((doc) =>
    doc.main === state || (doc.main === undefined && state === undefined) ? doc : { ...doc, main: state },
  )

/** The summary, with the table under it for the two listings. */
export const rendered = (command: Command, result: CommandResult<unknown>, now: number): CommandOutcome => {
  if (command._tag === "QuotaShow") {
    const data = result.data as QuotaData
    const failures = data.polled.flatMap((p) => (p.ok ? [] : [{ key: p.key, message: p.message }]))
    return {
      ok: true,
      text: `${result.summary}\n${formatQuota(data.accounts, failures, now)}`,
      accounts: data.accounts.map(displayName),
    }
  }
  if (command._tag === "AccountList") {
    const data = result.data as AccountsData
    return {
      ok: true,
      text: `${result.summary}\n${formatAccounts(data.accounts, now)}`,
      accounts: data.accounts.map(displayName),
    }
  }
  return { ok: true, text: result.summary }
}

const messageOf = (cause: unknown): string => {
  const text = String(cause)
  return text.length > 300 ? `${text.slice(0, 300)}…` : text
}
