/**
 * Pi's `auth.json` as the home of the main account: accounts' `MainAccountFile` at Pi's path and entry, with
 * Pi's own lock. Pi changes the file only under a `proper-lockfile` lock (`auth.json.lock`, a directory),
 * re-reading it first, and its own refresh of an OAuth token runs entirely inside that lock. Ours does too
 * (`MainCredentials.exclusive`), with the same library and the same options: that is what keeps Pi, other Pi
 * processes, this extension and the `openai-auth` CLI from ever spending one refresh token twice.
 */

import type { MainCredentials } from "@cortexkit/openai-auth-accounts/CredentialsContract"
import { MainCredentialsError } from "@cortexkit/openai-auth-accounts/CredentialsContract"
import { type AuthFileLock, MainAccountFile } from "@cortexkit/openai-auth-accounts/MainAccountFile"
import type { Files } from "@cortexkit/openai-auth-core/Files"
import { Clock, Duration, Effect, type Layer, Result } from "effect"
import lockfile from "proper-lockfile"
import { PROVIDER_ID } from "./PiHost.ts"

/** Pi's own numbers (auth-storage.js acquireLockAsync): a lock untouched for 30 s is stale; wait 30 s at most. */
export const LOCK_STALE_MS = 30_000
export const LOCK_WAIT_MS = 30_000

const failed = (message: string) => new MainCredentialsError({ message })

const tryLock = (path: string, onCompromised: (error: Error) => void) =>
  Effect.tryPromise({
    try: () => lockfile.lock(path, { retries: 0, stale: LOCK_STALE_MS, onCompromised }),
    catch: (error) => error as Error & { readonly code?: string },
  })

/** Pi's lock, waited for with a jittered backoff up to Pi's own limit. */
const acquire = (path: string, onCompromised: (error: Error) => void) =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    for (let attempt = 0; ; attempt++) {
      const result = yield* Effect.result(tryLock(path, onCompromised))
      if (Result.isSuccess(result)) return result.success
      const waited = (yield* Clock.currentTimeMillis) - start
      if (result.failure.code !== "ELOCKED" || waited >= LOCK_WAIT_MS) {
        return yield* failed(
          result.failure.code === "ELOCKED"
            ? `Pi's auth file ${path} stayed locked for ${Math.round(waited / 1000)} s`
            : `cannot lock Pi's auth file ${path}: ${result.failure.message}`,
        )
      }
      const backoff = Math.min(1_000, 10 * 2 ** Math.min(attempt, 7))
      yield* Effect.sleep(Duration.millis(Math.round(backoff * (0.5 + Math.random()))))
    }
  })

/** `proper-lockfile` on the file's real path, as Pi takes it (auth-storage.js `withLockAsync`). */
export const piAuthLock: AuthFileLock = {
  withLock: (path, body) =>
    Effect.suspend(() => {
      let lost: Error | undefined
      return Effect.acquireUseRelease(
        acquire(path, (error) => {
          lost = error
        }),
        () => body(() => lost),
        (release) => Effect.promise(() => release().catch(() => undefined)),
      )
    }),
}

export const PiAuthFile = {
  /** the main account in the Pi `auth.json` at `path`, under Pi's lock */
  layerAt: (path: string): Layer.Layer<MainCredentials, never, Files> =>
    MainAccountFile.layer({ path, entry: PROVIDER_ID, label: "Pi's auth file", lock: piAuthLock }),
}
