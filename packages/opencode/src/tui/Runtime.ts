/**
 * The services the TUI thread needs to read and change the store: the same `Store` (with its cross-process
 * lock) and `Commands` bodies as the server part and the CLI, without credentials, HTTP or a quota poller
 * (the quota dialog shows the cached readings; the server refreshes them before it opens the dialog).
 */

import type { Command } from "@cortexkit/openai-auth-accounts/CommandSyntax"
import { type CommandResult, Commands, runCommand } from "@cortexkit/openai-auth-accounts/Commands"
import { FileLock } from "@cortexkit/openai-auth-accounts/FileLock"
import { parseState, type StateDocument, StateFile, stateFilePath } from "@cortexkit/openai-auth-accounts/StateFile"
import { Store } from "@cortexkit/openai-auth-accounts/Store"
import type { StoreDocument } from "@cortexkit/openai-auth-accounts/StoreSchema"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import { Cause, Effect, Exit, Layer, ManagedRuntime, Option } from "effect"
import { openCodeSettings } from "../OpenCodeHost.ts"

export const tuiLayer = (settings: Layer.Layer<Settings, unknown, Files> = Settings.layerFrom(openCodeSettings())) => {
  const base = FileLock.layer.pipe(Layer.provideMerge(settings), Layer.provideMerge(Files.layer))
  const store = Store.layer.pipe(Layer.provideMerge(base))
  return Layer.mergeAll(Commands.layer, StateFile.layer).pipe(Layer.provideMerge(store))
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
  /** the store and the state file as they are on disk now */
  readonly snapshot: () => Promise<
    { readonly doc: StoreDocument; readonly state: StateDocument } | { readonly error: string }
  >
  readonly dispose: () => Promise<void>
}

export const makeTuiRuntime = (layer: Layer.Layer<TuiServices, unknown> = tuiLayer()): TuiRuntime => {
  const runtime = ManagedRuntime.make(layer)
  const settle = async <A>(effect: Effect.Effect<CommandResult<A>, unknown, TuiServices>): Promise<Outcome<A>> => {
    const exit = await runtime.runPromiseExit(effect)
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
          return { doc, state: parseState(Option.getOrUndefined(text)) }
        }),
      )
      return Exit.isSuccess(exit) ? exit.value : { error: messageOf(exit.cause) }
    },
    dispose: () => runtime.dispose(),
  }
}
