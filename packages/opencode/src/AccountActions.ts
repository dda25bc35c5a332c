/**
 * The server's slash commands and logins: loaded by `ServerCore` with `import()` the first time one runs, so
 * the first request neither loads the command bodies and login flows nor builds their services
 * (docs/performance.md, start). Each effect gets `commandServices` provided per use, built over the plugin
 * runtime's store, HTTP client and token client; those services hold no resources, so a flow's `wait` and a
 * device code's `poll` still run after the effect that started them has ended.
 */

import { commandServices } from "@cortexkit/openai-auth-accounts/CommandServices"
import type { Command } from "@cortexkit/openai-auth-accounts/CommandSyntax"
import { parseCommand, splitArguments } from "@cortexkit/openai-auth-accounts/CommandSyntax"
import { type LoginHook, runCommand as runWith } from "@cortexkit/openai-auth-accounts/Commands"
import type { Store } from "@cortexkit/openai-auth-accounts/Store"
import { authorizeBrowser } from "@cortexkit/openai-auth-core/CallbackServer"
import { DeviceFlow } from "@cortexkit/openai-auth-core/DeviceFlow"
import type { Http } from "@cortexkit/openai-auth-core/Http"
import type { TokenSet } from "@cortexkit/openai-auth-core/OAuth"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import type { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { Effect, Exit, Scope } from "effect"

export { parseCommand, splitArguments }

/** Starts the browser login (or, headless, a device-code login): what to show, and the wait for the tokens. */
export const loginFlow = (
  headless: boolean,
): Effect.Effect<
  { readonly url: string; readonly instructions: string; readonly wait: Effect.Effect<TokenSet, unknown> },
  unknown,
  Settings | Store | Http | TokenClient
> =>
  Effect.gen(function* () {
    const settings = yield* Settings
    if (headless) {
      const device = yield* DeviceFlow
      const code = yield* device.start({ issuer: settings.issuer })
      return { url: code.verificationUrl, instructions: `Enter code: ${code.userCode}`, wait: device.poll(code) }
    }
    const scope = yield* Scope.make()
    const flow = yield* authorizeBrowser({ issuer: settings.issuer }).pipe(Scope.provide(scope))
    return {
      url: flow.url,
      instructions: "Complete the ChatGPT login in your browser; this window continues by itself.",
      wait: flow.waitForTokens.pipe(Effect.ensuring(Scope.close(scope, Exit.void))),
    }
  }).pipe(Effect.provide(commandServices))

/** A device-code login for `/openai-account add`: the code to show, and the poll that yields the tokens. */
export const startDeviceLogin = Effect.gen(function* () {
  const settings = yield* Settings
  const device = yield* DeviceFlow
  const code = yield* device.start({ issuer: settings.issuer })
  return { code, poll: device.poll(code) }
}).pipe(Effect.provide(commandServices))

export const runCommand = <E = never>(command: Command, hooks?: Partial<LoginHook<E>>) =>
  runWith(command, hooks).pipe(Effect.provide(commandServices))
