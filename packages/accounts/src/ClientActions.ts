/**
 * Logins and commands for a host: loaded with `import()` the first time one runs (the facade and the
 * OpenCode server do so), so a host's first request neither loads the command bodies and login flows nor
 * builds their services (docs/performance.md, start). Each effect gets `commandServices` provided per use,
 * over the host runtime's store, HTTP client and token client; they hold no resources, so a login's wait
 * still runs after the effect that started it has ended.
 */
import { authorizeBrowser } from "@cortexkit/openai-auth-core/CallbackServer"
import { type DeviceCode, DeviceFlow } from "@cortexkit/openai-auth-core/DeviceFlow"
import type { Http } from "@cortexkit/openai-auth-core/Http"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import type { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { Effect, Exit, Option, Scope } from "effect"
import { commandServices } from "./CommandServices.ts"
import { parseCommand, splitArguments } from "./CommandSyntax.ts"
import { CommandRefused, Commands, type LoginHook, runCommand as runWith } from "./Commands.ts"
import { MainCredentials } from "./CredentialsContract.ts"
import { Store } from "./Store.ts"

export { parseCommand, splitArguments }

type LoginServices = Settings | Store | Http | TokenClient

/** A started login: what to show the user, and the wait for the tokens. */
export interface StartedLogin<E> {
  readonly url: string
  /** device login: the code to enter at `url` */
  readonly userCode?: string | undefined
  readonly wait: Effect.Effect<TokenSet, E>
}

/** A device-code login (`{issuer}/codex/device` + a code); `wait` polls until it is approved or expires. */
export const startDeviceLogin = Effect.gen(function* () {
  const settings = yield* Settings
  const device = yield* DeviceFlow
  const code: DeviceCode = yield* device.start({ issuer: settings.issuer })
  return { url: code.verificationUrl, userCode: code.userCode, expiresAt: code.expiresAt, wait: device.poll(code) }
}).pipe(Effect.provide(commandServices))

/**
 * A browser (PKCE) login: the callback server listens until `wait` ends (it is closed then, whatever the
 * outcome); `openUrl` is tried with the authorize URL, which is also returned for the host to show.
 */
export const startBrowserLogin = (openUrl?: (url: string) => Effect.Effect<unknown, unknown>) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    const scope = yield* Scope.make()
    const flow = yield* authorizeBrowser({
      issuer: settings.issuer,
      ...(openUrl === undefined ? {} : { openUrl }),
    }).pipe(
      Scope.provide(scope),
      Effect.onError(() => Scope.close(scope, Exit.void)),
    )
    return { url: flow.url, wait: flow.waitForTokens.pipe(Effect.ensuring(Scope.close(scope, Exit.void))) }
  }).pipe(Effect.provide(commandServices)) satisfies Effect.Effect<StartedLogin<unknown>, unknown, LoginServices>

export type SaveAs = "main" | "fallback"

/**
 * Keeps a login's tokens: as the main account (in the host's store, and any "needs re-login" mark the
 * store held for main is cleared) or as a fallback account (added, or updated when it is there already).
 */
export const saveLogin = (tokens: TokenSet, as: SaveAs, label?: string) =>
  Effect.gen(function* () {
    if (as === "fallback") {
      const added = yield* (yield* Commands).addAccount(tokens, label)
      return { savedAs: as, summary: added.summary }
    }
    const main = yield* MainCredentials
    yield* main.write(tokens)
    const store = yield* Store
    yield* store.update((doc) => Effect.succeed(doc.main === undefined ? doc : { ...doc, main: undefined }))
    return { savedAs: as, summary: `logged in as the main account (${tokens.email ?? tokens.accountId})` }
  }).pipe(Effect.provide(commandServices))

/** Whether the host's store holds a main login now. */
export const hasMainLogin = Effect.gen(function* () {
  const main = yield* MainCredentials
  return yield* main.read.pipe(
    Effect.map(Option.isSome),
    Effect.orElseSucceed(() => false),
  )
})

export const runCommand = <E = never>(command: Parameters<typeof runWith>[0], hooks?: Partial<LoginHook<E>>) =>
  runWith(command, hooks).pipe(Effect.provide(commandServices))

/** One of the command bodies, typed: `withCommands((c) => c.listAccounts())`. */
export const withCommands = <A, E>(f: (commands: Commands["Service"]) => Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    return yield* f(yield* Commands)
  }).pipe(Effect.provide(commandServices))

/** A command in the shared grammar (`routing fallback-first`); adding an account needs a login, so not here. */
export const runCommandLine = (name: string, args: string) =>
  Effect.gen(function* () {
    const parsed = parseCommand(name, splitArguments(args))
    if (!parsed.ok) return yield* new CommandRefused({ message: parsed.error })
    return yield* runCommand(parsed.command)
  })
