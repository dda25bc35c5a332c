/**
 * The browser login's callback listener on `node:http`, for Pi (which runs on Node, where the core's
 * `CallbackServer` has no `Bun.serve`). Same contract as the core's: 127.0.0.1 only, the registered ports
 * 1455 then 1457, the `state` checked, the issuer's `error` reported, `/cancel` honoured, a timeout.
 * Temporary: it goes once the core's listener runs on Node (issue 16); see docs/pi.md.
 */
import { createServer, type Server } from "node:http"
import { type CallbackListener, CallbackServer, type ListenOptions } from "@cortexkit/openai-auth-core/CallbackServer"
import {
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
} from "@cortexkit/openai-auth-core/OAuth"
import { Deferred, Duration, Effect, Layer } from "effect"

const listenOn = (server: Server, port: number) =>
  Effect.callback<void, Error>((resume) => {
    const onError = (error: Error) => resume(Effect.fail(error))
    server.once("error", onError)
    server.listen(port, "127.0.0.1", () => {
      server.off("error", onError)
      resume(Effect.void)
    })
  })

/** What the browser comes back with: the code, or why the login failed. */
export const outcomeOf = (url: URL, state: string): Effect.Effect<string, CallbackError> => {
  const query = url.searchParams
  if (query.get("state") !== state) {
    return Effect.fail(
      new LoginStateMismatch({ message: "the OAuth callback's state does not match this login; log in again" }),
    )
  }
  const error = query.get("error")
  if (error !== null) {
    const description = query.get("error_description") ?? undefined
    if (error === "missing_codex_entitlement" || description?.includes("missing_codex_entitlement") === true) {
      return Effect.fail(
        new MissingCodexEntitlement({ message: "this ChatGPT account or workspace does not have Codex enabled" }),
      )
    }
    return Effect.fail(
      new LoginDenied({
        message: `login was not completed: ${error}${description === undefined ? "" : ` (${description})`}`,
        error,
        ...(description === undefined ? {} : { description }),
      }),
    )
  }
  const code = query.get("code")
  return code === null || code === ""
    ? Effect.fail(new LoginDenied({ message: "the OAuth callback carried no code", error: "invalid_request" }))
    : Effect.succeed(code)
}

const PAGE = (title: string) =>
  `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title></head><body style="font-family:system-ui,sans-serif;max-width:36em;margin:4em auto"><h1>${title}</h1><p>You can close this window and return to Pi.</p></body></html>`

export const listen = (options: ListenOptions) =>
  Effect.gen(function* () {
    const ports = options.ports ?? CALLBACK_PORTS
    const timeout = Duration.fromInputUnsafe(options.timeout ?? Duration.minutes(5))
    const result = yield* Deferred.make<string, CallbackError>()
    const server = createServer((request, response) => {
      const url = new URL(request.url ?? "/", "http://localhost")
      if (url.pathname === "/cancel") {
        Deferred.doneUnsafe(result, Effect.fail(new LoginCancelled({ message: "login cancelled (port taken over)" })))
        response.end("Login cancelled")
        return
      }
      if (url.pathname !== CALLBACK_PATH) {
        response.writeHead(404).end("Not found")
        return
      }
      const outcome = outcomeOf(url, options.state)
      Deferred.doneUnsafe(result, outcome)
      const ok = Effect.runSync(Effect.match(outcome, { onFailure: () => false, onSuccess: () => true }))
      response
        .writeHead(ok ? 200 : 400, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" })
        .end(PAGE(ok ? "Signed in" : "Login failed"))
    })
    const failures: Array<string> = []
    let port: number | undefined
    for (const candidate of ports) {
      const bound = yield* Effect.result(listenOn(server, candidate))
      if (bound._tag === "Success") {
        port = candidate
        break
      }
      failures.push(`${candidate}: ${bound.failure.message}`)
    }
    if (port === undefined) {
      return yield* new CallbackPortsBusy({
        message: `cannot listen for the OAuth callback on 127.0.0.1 ports ${ports.join(", ")} (${failures.join("; ")}); use the device-code login`,
        ports: [...ports],
      })
    }
    const close = Effect.sync(() => {
      server.closeAllConnections()
      server.close()
    })
    yield* Effect.addFinalizer(() => close)
    yield* Effect.forkScoped(
      Effect.sleep(timeout).pipe(
        Effect.andThen(
          Deferred.fail(
            result,
            new LoginTimeout({
              message: `no browser login within ${Duration.format(timeout)}`,
              afterMs: Duration.toMillis(timeout),
            }),
          ),
        ),
      ),
    )
    const listener: CallbackListener = {
      port,
      redirectUri: redirectUriFor(port),
      code: Deferred.await(result).pipe(Effect.ensuring(close)),
    }
    return listener
  })

/** The core's `CallbackServer` service over `node:http`. */
export const NodeCallbackServer: Layer.Layer<CallbackServer> = Layer.succeed(
  CallbackServer,
  CallbackServer.of({ listen }),
)
