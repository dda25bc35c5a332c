/**
 * The loopback server that receives the browser's OAuth redirect, and the browser (PKCE) login built on it.
 * It binds 127.0.0.1 only, and only the two ports registered for the Codex client (a random port would be
 * rejected by the issuer's exact redirect_uri match).
 */
import { Context, Deferred, Duration, Effect, Layer, type Scope } from "effect"
import { HostIdentity } from "./HostIdentity.ts"
import {
  buildAuthorizeUrl,
  CALLBACK_PATH,
  CALLBACK_PORTS,
  type CallbackError,
  CallbackPortsBusy,
  LoginCancelled,
  LoginDenied,
  LoginStateMismatch,
  LoginTimeout,
  MissingCodexEntitlement,
  redirectUriFor,
  type TokenSet,
} from "./OAuth.ts"
import * as Pkce from "./Pkce.ts"
import { TokenClient, type TokenEndpointError } from "./TokenClient.ts"

export const DEFAULT_LOGIN_TIMEOUT: Duration.Duration = Duration.minutes(5)

export interface ListenOptions {
  /** the `state` sent in the authorize URL; any other value on the callback fails the login */
  readonly state: string
  /** tried in order; default [1455, 1457] */
  readonly ports?: ReadonlyArray<number>
  /** measured with the Clock from the moment the server listens; default 5 minutes */
  readonly timeout?: Duration.Input
}

export interface CallbackListener {
  readonly port: number
  /** `http://localhost:<port>/auth/callback`, to be sent byte-identical in authorize and exchange */
  readonly redirectUri: string
  /** The authorization code once the browser comes back. The server stops listening when this settles. */
  readonly code: Effect.Effect<string, CallbackError>
}

const page = (title: string, body: string, status: number) =>
  new Response(
    `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head>` +
      `<body style="font-family:system-ui,sans-serif;max-width:36em;margin:4em auto">` +
      `<h1>${title}</h1><p>${body}</p></body></html>`,
    { status, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } },
  )

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

type Settle = (effect: Effect.Effect<string, CallbackError>) => boolean

const handle = (request: Request, expectedState: string, settle: Settle): Response => {
  const url = new URL(request.url)
  if (url.pathname === "/cancel") {
    settle(Effect.fail(new LoginCancelled({ message: "login cancelled (another login took over the callback port)" })))
    return new Response("Login cancelled", { status: 200 })
  }
  if (url.pathname !== CALLBACK_PATH) return new Response("Not found", { status: 404 })
  const query = url.searchParams
  if (query.get("state") !== expectedState) {
    settle(
      Effect.fail(
        new LoginStateMismatch({
          message: "the OAuth callback's state does not match this login (stale or forged redirect); log in again",
        }),
      ),
    )
    return page("Login failed", "The login response did not match this login attempt. Please try again.", 400)
  }
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
              message: `login was not completed: ${error}${description ? ` (${description})` : ""}`,
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

const tryServe = (port: number, fetch: (request: Request) => Response) => {
  try {
    return { server: Bun.serve({ hostname: "127.0.0.1", port, reusePort: false, fetch }) }
  } catch (cause) {
    return { error: cause instanceof Error ? cause.message : String(cause) }
  }
}

const bind = (ports: ReadonlyArray<number>, fetch: (request: Request) => Response) =>
  Effect.suspend(() => {
    const failures: Array<string> = []
    for (const port of ports) {
      const attempt = tryServe(port, fetch)
      if (attempt.server !== undefined) return Effect.succeed(attempt.server)
      failures.push(`${port}: ${attempt.error}`)
    }
    return Effect.fail(
      new CallbackPortsBusy({
        message: `cannot listen for the OAuth callback on 127.0.0.1 ports ${ports.join(", ")} (${failures.join("; ")}); close the other login (or program) using them, or use the device-code login`,
        ports: [...ports],
      }),
    )
  })

export const listen = Effect.fn("CallbackServer.listen")(function* (options: ListenOptions) {
  const ports = options.ports ?? CALLBACK_PORTS
  const timeout = Duration.fromInputUnsafe(options.timeout ?? DEFAULT_LOGIN_TIMEOUT)
  const deferred = yield* Deferred.make<string, CallbackError>()
  const settle: Settle = (effect) => Deferred.doneUnsafe(deferred, effect)
  const server = yield* Effect.acquireRelease(
    bind(ports, (request) => handle(request, options.state, settle)),
    (server) => Effect.sync(() => void server.stop()),
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
  const port = server.port ?? 0
  const listener: CallbackListener = {
    port,
    redirectUri: redirectUriFor(port),
    code: Deferred.await(deferred).pipe(Effect.ensuring(Effect.sync(() => void server.stop()))),
  }
  return listener
})

export class CallbackServer extends Context.Service<
  CallbackServer,
  {
    readonly listen: (options: ListenOptions) => Effect.Effect<CallbackListener, CallbackPortsBusy, Scope.Scope>
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
