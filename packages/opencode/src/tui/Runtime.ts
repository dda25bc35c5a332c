/**
 * The services the TUI thread needs: the same `Store` (with its cross-process lock) and `Commands` bodies as
 * the server part and the CLI, and the quota poller with the credentials it needs, so the quota dialog asks
 * the usage endpoint itself. The main account's tokens are OpenCode's `auth.json`, read and written the way
 * the CLI does (a refresh is coordinated with the server part through the store's lock, as with any other
 * process). Lines go to the plugin's log file, never to the terminal the TUI draws on.
 */

import { accountServices } from "@cortexkit/openai-auth-accounts/AccountServices"
import type { Command } from "@cortexkit/openai-auth-accounts/CommandSyntax"
import { type CommandResult, Commands, runCommand } from "@cortexkit/openai-auth-accounts/Commands"
import { MainCredentials } from "@cortexkit/openai-auth-accounts/Credentials"
import { QuotaCache } from "@cortexkit/openai-auth-accounts/QuotaCache"
import { type PollOutcome, QuotaPoller } from "@cortexkit/openai-auth-accounts/QuotaPoller"
import { SettingsSourceRef } from "@cortexkit/openai-auth-accounts/SettingsInEffect"
import { parseState, type StateDocument, stateFilePath } from "@cortexkit/openai-auth-accounts/StateFile"
import { Store } from "@cortexkit/openai-auth-accounts/Store"
import type { StoreDocument } from "@cortexkit/openai-auth-accounts/StoreSchema"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { HostIdentity } from "@cortexkit/openai-auth-core/HostIdentity"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { type Env, Settings } from "@cortexkit/openai-auth-core/Settings"
import { Cause, Effect, Exit, Layer, ManagedRuntime, Option } from "effect"
import { HostAuthFile } from "../HostAuthFile.ts"
import { OPENCODE_IDENTITY, openCodeSettings } from "../OpenCodeHost.ts"

/** the TUI thread's services, from the environment OpenCode runs in (a test gives its own) */
export const tuiLayer = (env: Env = process.env) => {
  const source = openCodeSettings(env)
  return Commands.layer.pipe(
    Layer.provideMerge(accountServices(Layer.merge(HostAuthFile.layer(env), Logger.layer), Settings.layerFrom(source))),
    // read by the services that name the host on the wire (the quota poller)
    Layer.provideMerge(Layer.succeed(HostIdentity, OPENCODE_IDENTITY)),
    Layer.provideMerge(Layer.succeed(SettingsSourceRef, source)),
  )
}

export type TuiServices = Layer.Success<ReturnType<typeof tuiLayer>>

export type Outcome<A> =
  | { readonly ok: true; readonly summary: string; readonly data: A }
  | { readonly ok: false; readonly message: string }

/** An error's own message when it has one (every CommandError does), else the pretty cause. */
const messageOf = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") {
    return error.message
  }
  return Cause.pretty(cause)
}

export interface TuiRuntime {
  /** runs a parsed command; never rejects */
  readonly run: (command: Command) => Promise<Outcome<unknown>>
  /** runs one of the `Commands` bodies; never rejects */
  readonly commands: <A>(f: (c: Commands["Service"]) => Effect.Effect<CommandResult<A>, unknown>) => Promise<Outcome<A>>
  readonly storePath: () => Promise<string | undefined>
  /** the store and the state file as they are on disk now, and whether OpenCode holds a ChatGPT login */
  readonly snapshot: () => Promise<
    | { readonly doc: StoreDocument; readonly state: StateDocument; readonly mainLoggedIn?: boolean | undefined }
    | { readonly error: string }
  >
  /**
   * Polls the usage endpoint for main and every fallback in `keys` at once, calling `onOutcome` as each
   * answers; the readings are in the store when it resolves. Never rejects.
   */
  readonly pollQuota: (keys: ReadonlyArray<string>, onOutcome: (outcome: PollOutcome) => void) => Promise<void>
  readonly dispose: () => Promise<void>
}

export const makeTuiRuntime = (layer: Layer.Layer<TuiServices, unknown> = tuiLayer()): TuiRuntime => {
  const runtime = ManagedRuntime.make(layer)
  const settle = async <A>(effect: Effect.Effect<CommandResult<A>, unknown, TuiServices>): Promise<Outcome<A>> => {
    const exit = await runtime.runPromiseExit(
      effect.pipe(
        Effect.tapCause((cause) => Effect.logWarning("a TUI command failed", { cause: Cause.squash(cause) })),
        Effect.tap((result) => Effect.logDebug("TUI command", { summary: result.summary })),
      ),
    )
    return Exit.isSuccess(exit)
      ? { ok: true, summary: exit.value.summary, data: exit.value.data }
      : { ok: false, message: messageOf(exit.cause) }
  }
  return {
    run: (command) => settle(runCommand(command)),
    commands: (f) =>
      settle(
        Effect.gen(function* () {
          return yield* f(yield* Commands)
        }),
      ),
    storePath: async () => {
      const exit = await runtime.runPromiseExit(
        Effect.gen(function* () {
          return (yield* Store).path
        }),
      )
      return Exit.isSuccess(exit) ? exit.value : undefined
    },
    snapshot: async () => {
      const exit = await runtime.runPromiseExit(
        Effect.gen(function* () {
          const store = yield* Store
          const files = yield* Files
          const doc = yield* store.read
          const text = yield* files
            .readText(stateFilePath(store.path))
            .pipe(Effect.orElseSucceed(() => Option.none<string>()))
          const host = yield* MainCredentials
          const mainLoggedIn = yield* host.read.pipe(
            Effect.map(Option.isSome),
            Effect.orElseSucceed(() => undefined),
          )
          return { doc, state: parseState(Option.getOrUndefined(text)), mainLoggedIn }
        }),
      )
      return Exit.isSuccess(exit) ? exit.value : { error: messageOf(exit.cause) }
    },
    pollQuota: async (keys, onOutcome) => {
      await runtime.runPromiseExit(
        Effect.gen(function* () {
          const poller = yield* QuotaPoller
          yield* Effect.forEach(keys, (key) => Effect.tap(poller.poll(key), (o) => Effect.sync(() => onOutcome(o))), {
            concurrency: "unbounded",
            discard: true,
          })
          // the sidebar and other processes read the readings from the store
          yield* (yield* QuotaCache).flush
        }),
      )
    },
    dispose: () => runtime.dispose(),
  }
}
