/**
 * The loopback server that receives the browser's OAuth redirect, and the browser (PKCE) login built on it.
 * One implementation on `node:http`, so it runs the same under Node 22 (the published `openai-auth` bin) and
 * Bun. It listens on the two ports registered for the Codex client only (a random port would be rejected by
 * the issuer's exact redirect_uri match), and on both loopback addresses: the redirect says `localhost`, which
 * a browser may resolve to `::1` first, so `[::1]:<port>` is taken too (a port whose `::1` side another
 * program holds counts as busy: the browser could deliver the code there), unless this machine has no IPv6.
 *
 * Only the request that carries this login's `state` settles it: a wrong-state callback or a `/cancel` without
 * it (a stray or hostile web page poking the port) gets an error page and the login keeps waiting.
 */
import type { IncomingMessage, ServerResponse } from "node:http"
import { Context, Deferred, Duration, Effect, Layer, type Scope } from "effect"
import { HostIdentity } from "./HostIdentity.ts"
import { bindPort, stop } from "./internal/loopback-server.ts"
import {
  buildAuthorizeUrl,
  CALLBACK_PATH,
  CALLBACK_PORTS,
  type CallbackError,
  CallbackPortsBusy,
  CallbackServerFailed,
  LoginCancelled,
  LoginDenied,
  LoginTimeout,
  MissingCodexEntitlement,
  redirectUriFor,
  type TokenSet,
} from "./OAuth.ts"
import * as Pkce from "./Pkce.ts"
import { printableLine } from "./Printable.ts"
import { TokenClient, type TokenEndpointError } from "./TokenClient.ts"

export const DEFAULT_LOGIN_TIMEOUT: Duration.Duration = Duration.minutes(5)

/** Where the callback server listens: the first address is required, the others are taken when they exist. */
export const LOOPBACK_HOSTS: ReadonlyArray<string> = ["127.0.0.1", "::1"]

export interface ListenOptions {
  /** the `state` sent in the authorize URL; only a request carrying it settles the login */
  readonly state: string
  /** tried in order; default [1455, 1457] */
  readonly ports?: ReadonlyArray<number>
  /** default `LOOPBACK_HOSTS` */
  readonly hosts?: ReadonlyArray<string>
  /** measured with the Clock from the moment the server listens; default 5 minutes */
  readonly timeout?: Duration.Input
}

export interface CallbackListener {
  readonly port: number
  /** the addresses listened on (`127.0.0.1`, and `::1` where the machine has IPv6) */
  readonly hosts: ReadonlyArray<string>
  /** `http://localhost:<port>/auth/callback`, to be sent byte-identical in authorize and exchange */
  readonly redirectUri: string
  /** The authorization code once the browser comes back. The server stops listening when this settles. */
  readonly code: Effect.Effect<string, CallbackError>
}

interface Page {
  readonly status: number
  readonly text: string
  readonly html: boolean
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

const page = (title: string, body: string, status: number): Page => ({
  status,
  html: true,
  text:
    `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
    `<body style="font-family:system-ui,sans-serif;max-width:36em;margin:4em auto">` +
    `<h1>${title}</h1><p>${body}</p></body></html>`,
})

type Settle = (effect: Effect.Effect<string, CallbackError>) => boolean

const notThisLogin = page(
  "Not this login",
  "This request does not belong to the login in progress; it was ignored. Finish signing in from the link the login printed.",
  400,
)

const handle = (url: URL, expectedState: string, settle: Settle): Page => {
  const query = url.searchParams
  const ours = query.get("state") === expectedState
  if (url.pathname === "/cancel") {
    if (!ours) return notThisLogin
    settle(Effect.fail(new LoginCancelled({ message: "login cancelled (another login took over the callback port)" })))
    return { status: 200, text: "Login cancelled", html: false }
  }
  if (url.pathname !== CALLBACK_PATH) return { status: 404, text: "Not found", html: false }
  if (!ours) return notThisLogin
  const error = query.get("error")
  if (error !== null) {
    const description = query.get("error_description") ?? undefined
    const entitlement =
      error === "missing_codex_entitlement" || (description?.includes("missing_codex_entitlement") ?? false)
    settle(
      Effect.fail(
        entitlement
          ? new MissingCodexEntitlement({
              message: "this ChatGPT account or workspace does not have Codex enabled (missing_codex_entitlement)",
            })
          : new LoginDenied({
              message: `login was not completed: ${printableLine(error.slice(0, 100))}${
                description ? ` (${printableLine(description.slice(0, 300))})` : ""
              }`,
              error,
              ...(description !== undefined ? { description } : {}),
            }),
      ),
    )
    const reason = entitlement ? "Codex is not enabled for this account or workspace." : `${error}`
    return page("Login failed", `Sign-in did not complete: ${escapeHtml(reason)}`, 403)
  }
  const code = query.get("code")
  if (code === null || code === "") {
    settle(Effect.fail(new LoginDenied({ message: "the OAuth callback carried no code", error: "invalid_request" })))
    return page("Login failed", "The login response carried no authorization code.", 400)
  }
  settle(Effect.succeed(code))
  return page("Signed in", "You are signed in to ChatGPT. You can close this window.", 200)
}

const respond = (expectedState: string, settle: Settle) => (request: IncomingMessage, response: ServerResponse) => {
  let answer: Page
  // the login settles once the browser has its page (or went away): settling closes the server
  let outcome: Effect.Effect<string, CallbackError> | undefined
  try {
    answer = handle(new URL(request.url ?? "/", "http://localhost"), expectedState, (effect) => {
      outcome = effect
      return true
    })
  } catch {
    answer = { status: 400, text: "Bad request", html: false }
  }
  response.once("close", () => {
    if (outcome !== undefined) settle(outcome)
  })
  response.writeHead(answer.status, {
    "content-type": answer.html ? "text/html; charset=utf-8" : "text/plain; charset=utf-8",
    "cache-control": "no-store",
    connection: "close",
  })
  response.end(answer.text)
}

const bind = (ports: ReadonlyArray<number>, hosts: ReadonlyArray<string>, onRequest: ReturnType<typeof respond>) =>
  Effect.gen(function* () {
    const busy: Array<string> = []
    for (const port of ports) {
      const attempt = yield* Effect.promise(() => bindPort(port, hosts, onRequest))
      if (attempt._tag === "Listening") return attempt
      if (attempt._tag === "Failed") {
        return yield* new CallbackServerFailed({
          message: `cannot listen for the OAuth callback on ${attempt.why}`,
          code: attempt.code,
        })
      }
      busy.push(attempt.why)
    }
    return yield* new CallbackPortsBusy({
      message: `cannot listen for the OAuth callback: ${busy.join("; ")}; close the other login (or program) using them, or use the device-code login`,
      ports: [...ports],
    })
  })

export const listen = Effect.fn("CallbackServer.listen")(function* (options: ListenOptions) {
  const ports = options.ports ?? CALLBACK_PORTS
  const timeout = Duration.fromInputUnsafe(options.timeout ?? DEFAULT_LOGIN_TIMEOUT)
  const deferred = yield* Deferred.make<string, CallbackError>()
  const settle: Settle = (effect) => Deferred.doneUnsafe(deferred, effect)
  const listening = yield* Effect.acquireRelease(
    bind(ports, options.hosts ?? LOOPBACK_HOSTS, respond(options.state, settle)),
    (listening) => Effect.sync(() => stop(listening.servers)),
  )
  yield* Effect.forkScoped(
    Effect.sleep(timeout).pipe(
      Effect.andThen(
        Deferred.fail(
          deferred,
          new LoginTimeout({
            message: `no browser login within ${Duration.format(timeout)}`,
            afterMs: Duration.toMillis(timeout),
          }),
        ),
      ),
    ),
  )
  const listener: CallbackListener = {
    port: listening.port,
    hosts: listening.hosts,
    redirectUri: redirectUriFor(listening.port),
    code: Deferred.await(deferred).pipe(Effect.ensuring(Effect.sync(() => stop(listening.servers)))),
  }
  return listener
})

export class CallbackServer extends Context.Service<
  CallbackServer,
  {
    readonly listen: (
      options: ListenOptions,
    ) => Effect.Effect<CallbackListener, CallbackPortsBusy | CallbackServerFailed, Scope.Scope>
  }
>()("@cortexkit/openai-auth-core/CallbackServer") {
  static readonly layer: Layer.Layer<CallbackServer> = Layer.succeed(CallbackServer, CallbackServer.of({ listen }))
}

export interface AuthorizeBrowserOptions {
  readonly issuer: string
  /** opens the URL in a browser; a failure here is ignored (the caller also shows the URL) */
  readonly openUrl?: (url: string) => Effect.Effect<unknown, unknown>
  readonly ports?: ReadonlyArray<number>
  readonly timeout?: Duration.Input
  /** default: the runtime's HostIdentity */
  readonly originator?: string
}

export interface BrowserAuthorization {
  readonly url: string
  readonly redirectUri: string
  readonly waitForTokens: Effect.Effect<TokenSet, CallbackError | TokenEndpointError>
}

/**
 * Starts the callback server (for the lifetime of the enclosing scope), builds the authorize URL and hands it
 * to `openUrl`. `waitForTokens` waits for the redirect and exchanges the code.
 */
export const authorizeBrowser = Effect.fn("OAuth.authorizeBrowser")(function* (options: AuthorizeBrowserOptions) {
  const server = yield* CallbackServer
  const tokens = yield* TokenClient
  const pkce = yield* Pkce.pair
  const state = yield* Pkce.state
  const listener = yield* server.listen({
    state,
    ...(options.ports !== undefined ? { ports: options.ports } : {}),
    ...(options.timeout !== undefined ? { timeout: options.timeout } : {}),
  })
  const url = buildAuthorizeUrl({
    issuer: options.issuer,
    redirectUri: listener.redirectUri,
    codeChallenge: pkce.challenge,
    state,
    originator: options.originator ?? (yield* HostIdentity).originator,
  })
  if (options.openUrl !== undefined) yield* Effect.ignore(options.openUrl(url))
  const waitForTokens = listener.code.pipe(
    Effect.flatMap((code) =>
      tokens.exchangeCode({
        code,
        redirectUri: listener.redirectUri,
        codeVerifier: pkce.verifier,
        issuer: options.issuer,
      }),
    ),
  )
  const result: BrowserAuthorization = { url, redirectUri: listener.redirectUri, waitForTokens }
  return result
})
