/**
 * One mutex per key, made on first use. The single-flights of this package are built on it: the fibers of
 * one process take turns at a file lock (FileLock), and one refresh per account runs at a time (Credentials).
 * Keys are few (store paths, account keys), so the mutexes are kept for the owner's lifetime.
 */
import { type Effect, type Scope, Semaphore } from "effect"

export interface KeyedMutex {
  /** runs `effect` holding the key's mutex (FIFO among the fibers waiting for it) */
  readonly withLock: (key: string) => <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** takes the key's mutex until the enclosing scope closes */
  readonly lockScoped: (key: string) => Effect.Effect<void, never, Scope.Scope>
}

export const makeKeyedMutex = (): KeyedMutex => {
  const mutexes = new Map<string, Semaphore.Semaphore>()
  const mutexOf = (key: string) => {
    let mutex = mutexes.get(key)
    if (mutex === undefined) {
      mutex = Semaphore.makeUnsafe(1)
      mutexes.set(key, mutex)
    }
    return mutex
  }
  return {
    withLock: (key) => mutexOf(key).withPermits(1),
    lockScoped: (key) => mutexOf(key).takeScoped(1),
  }
}
