/**
 * A cross-process lock: the file `<store>.lock`, created exclusively and holding its owner
 * `{ pid, hostname, createdAt, token }`. While held, a heartbeat keeps its mtime fresh; a lock whose owner
 * died on this host, or that went `staleMs` without a heartbeat, is broken by renaming it aside (never by
 * deleting a name someone may have just taken). Release removes the lock only if it still holds our token.
 *
 * A holder that is alive but silent (stopped with SIGSTOP or Ctrl-Z, a laptop lid, a debugger, an event loop
 * blocked) is trusted for `staleMs` (30 s: three missed heartbeats), then its lock is broken so that the other
 * processes can go on. It may wake up still believing it holds the lock, so a write made under it is fenced:
 * `LockHandle.ownerText` is what the lock file holds while it is ours, and the store's write renames only if
 * the lock file still holds it and the store is still what was read (Store.ts, `Files.writeAtomicIf`).
 *
 * Hand-off is first come, first served: waiters queue with tickets beside the lock (LockQueue.ts). What a
 * killed process left beside the lock (its temp file, a lock moved aside) is removed by the next holder.
 */

import { basename, dirname, join } from "node:path"
import { randomHex } from "@cortexkit/openai-auth-core/Digest"
import { FileError, Files, pidAlive } from "@cortexkit/openai-auth-core/Files"
import { Clock, Context, Duration, Effect, Fiber, Layer, Option, Schema, type Scope } from "effect"
import { makeKeyedMutex } from "./KeyedMutex.ts"
import {
  type DirWatch,
  host,
  makeQueue,
  POLL_MS,
  TICKET_BEAT_MS,
  ticketName,
  uniqueAside,
  watchDir,
} from "./LockQueue.ts"

export { pidAlive, ticketName }

export class LockTimeout extends Schema.TaggedError<LockTimeout>()("LockTimeout", {
  path: Schema.String,
  /** who held it when we gave up, as far as the lock file says */
  owner: Schema.optional(Schema.String),
  waitedMs: Schema.Number,
  message: Schema.String,
}) {}

export const LockOwner = Schema.Struct({
  pid: Schema.Number,
  hostname: Schema.String,
  createdAt: Schema.Number,
  token: Schema.String,
})
export type LockOwner = typeof LockOwner.Type
const decodeOwner = Schema.decodeUnknownOption(Schema.fromJsonString(LockOwner))

export interface LockOptions {
  /** give up after this long (default 5 s) */
  readonly timeoutMs?: number
  /** a lock without a heartbeat for this long is abandoned, its owner alive or not (default 30 s) */
  readonly staleMs?: number
}

export interface LockHandle {
  readonly path: string
  readonly token: string
  /** the lock file's exact text while the lock is ours: a fenced write expects to find it there */
  readonly ownerText: string
  /** how long acquiring took */
  readonly waitedMs: number
  /** a stale lock (its owner dead, or silent for `staleMs`) was broken to take this one */
  readonly recovered: boolean
  /** whether the lock file still names us (false once it was broken while we were silent) */
  readonly stillHeld: Effect.Effect<boolean>
  /** removes the lock if it is still ours; never fails */
  readonly release: Effect.Effect<void>
}

export const DEFAULT_TIMEOUT_MS = 5_000
/** how long a live holder that stopped beating is trusted before its lock is broken */
export const DEFAULT_STALE_MS = 30_000
const jitter = (ms: number) => Math.max(1, Math.round(ms * (0.5 + Math.random() / 2)))

const describeOwner = (owner: Option.Option<LockOwner>) =>
  Option.match(owner, {
    onNone: () => undefined,
    onSome: (o) => `pid ${o.pid} on ${o.hostname} since ${new Date(o.createdAt).toISOString()}`,
  })

export const make = Effect.gen(function* () {
  const files = yield* Files
  const { queueState, enqueue, sweep } = makeQueue(files)
  // fibers of one process queue here (FIFO) so that only one of them polls the file at a time
  const local = makeKeyedMutex()
  // paths whose leftovers this process has already looked for
  const swept = new Set<string>()

  const readOwner = (path: string) =>
    Effect.map(files.readText(path), (text) => Option.flatMap(text, (t) => decodeOwner(t)))

  /**
   * Breaks the lock we judged stale. The rename is atomic, so only one breaker gets it; if what we moved is
   * not the lock we judged (it was replaced in between), it is put back where it was.
   */
  const breakStale = Effect.fnUntraced(function* (path: string, judged: Option.Option<LockOwner>) {
    const aside = uniqueAside(path, "stale")
    const moved = yield* files.rename(path, aside).pipe(
      Effect.as(true),
      Effect.catchIf(
        (e) => e.code === "ENOENT",
        () => Effect.succeed(false),
      ),
    )
    if (!moved) return false
    const took = yield* readOwner(aside)
    const same = Option.isNone(judged)
      ? Option.isNone(took)
      : Option.isSome(took) && took.value.token === judged.value.token
    if (!same) {
      yield* files.readText(aside).pipe(
        Effect.flatMap((text) =>
          Option.isSome(text) ? files.createExclusive(path, text.value) : Effect.succeed(false),
        ),
        Effect.ignore,
      )
    }
    yield* Effect.ignore(files.remove(aside))
    return same
  })

  const isStale = Effect.fnUntraced(function* (path: string, owner: Option.Option<LockOwner>, staleMs: number) {
    if (Option.isSome(owner) && owner.value.hostname === host && !pidAlive(owner.value.pid)) return true
    const stat = yield* files.stat(path)
    if (Option.isNone(stat)) return false
    const now = yield* Clock.currentTimeMillis
    return now - stat.value.mtimeMs > staleMs
  })

  const release = (path: string, token: string): Effect.Effect<void> =>
    Effect.gen(function* () {
      const current = yield* readOwner(path)
      if (Option.isNone(current) || current.value.token !== token) return
      // moved aside first so that a lock someone took in between is never the one deleted
      const aside = uniqueAside(path, "release")
      const moved = yield* files.rename(path, aside).pipe(
        Effect.as(true),
        Effect.catch(() => Effect.succeed(false)),
      )
      if (!moved) return
      const took = yield* readOwner(aside)
      if (Option.isSome(took) && took.value.token !== token) {
        const text = yield* files.readText(aside)
        if (Option.isSome(text)) yield* files.createExclusive(path, text.value)
      }
      yield* files.remove(aside)
    }).pipe(Effect.ignore)

  const heartbeat = (path: string, token: string, staleMs: number) =>
    Effect.gen(function* () {
      while (true) {
        yield* Effect.sleep(Duration.millis(Math.max(10, Math.floor(staleMs / 3))))
        const current = yield* readOwner(path)
        if (Option.isNone(current) || current.value.token !== token) return
        yield* files.touch(path, yield* Clock.currentTimeMillis)
      }
    }).pipe(Effect.ignore)

  const tryAcquire = Effect.fn("FileLock.acquire")(function* (path: string, options?: LockOptions) {
    const timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS
    const staleMs = options?.staleMs ?? DEFAULT_STALE_MS
    const start = yield* Clock.currentTimeMillis
    const lockName = basename(path)
    let owner = Option.none<LockOwner>()
    // undefined: not queued yet; null: queueing failed, so this waiter tries whenever it looks (no fairness)
    let ticket: string | null | undefined
    let beatAt = 0
    let notices: DirWatch | undefined
    let recovered = false
    const leave = Effect.suspend(() =>
      typeof ticket === "string" ? Effect.ignore(files.remove(join(dirname(path), ticket))) : Effect.void,
    )
    // the scope ends the directory watch
    return yield* Effect.gen(function* () {
      while (true) {
        const state = ticket === null ? { head: undefined, ahead: undefined } : yield* queueState(path, ticket, staleMs)
        const myTurn = state.head === undefined || state.head === ticket
        if (myTurn) {
          // followed before the look, so a release right after it (or after a failed attempt) still wakes us
          notices?.follow(lockName)
          // A lock that is there is not tried: the attempt (a temp file, a link, a removal) would fail and take
          // CPU from its holder; the new head of the queue meets it every time, as the holder took it just before
          // leaving the queue. Whether it is stale is judged below either way.
          if (Option.isNone(yield* files.stat(path))) {
            const now = yield* Clock.currentTimeMillis
            const token = randomHex(12)
            const mine: LockOwner = { pid: process.pid, hostname: host, createdAt: now, token }
            const ownerText = JSON.stringify(mine)
            if (yield* files.createExclusive(path, ownerText)) {
              return { token, ownerText, waitedMs: now - start, recovered }
            }
          }
          owner = yield* readOwner(path)
          if (yield* isStale(path, owner, staleMs)) {
            if (yield* breakStale(path, owner)) recovered = true
            continue
          }
        } else if (notices !== undefined && state.ahead !== undefined) {
          notices.follow(state.ahead)
          // it may have left between the listing and the follow
          const still = yield* files
            .stat(join(dirname(path), state.ahead))
            .pipe(Effect.orElseSucceed(() => Option.none()))
          if (Option.isNone(still)) continue
        }
        const now = yield* Clock.currentTimeMillis
        const left = start + timeoutMs - now
        if (left <= 0) {
          if (!myTurn) owner = yield* readOwner(path)
          const described = describeOwner(owner)
          return yield* new LockTimeout({
            path,
            ...(described === undefined ? {} : { owner: described }),
            waitedMs: now - start,
            message: `timed out after ${now - start} ms waiting for the lock ${path}${
              described === undefined ? "" : ` held by ${described}`
            }`,
          })
        }
        if (ticket === undefined) {
          // watching starts before the next look, so a release in between is not missed
          notices = yield* watchDir(files, dirname(path))
          const name = ticketName(path, now)
          ticket = (yield* enqueue(path, name)) ? name : null
          beatAt = now
          continue
        }
        if (ticket !== null && now - beatAt >= TICKET_BEAT_MS) {
          beatAt = now
          yield* Effect.ignore(files.touch(join(dirname(path), ticket), now))
        }
        const watched = notices?.watched() === true
        const poll = myTurn
          ? watched
            ? POLL_MS.head
            : POLL_MS.headUnwatched
          : watched
            ? POLL_MS.queued
            : POLL_MS.queuedUnwatched
        const wait = Math.min(jitter(poll), left)
        yield* notices === undefined ? Effect.sleep(wait) : notices.wait(wait)
      }
    }).pipe(Effect.scoped, Effect.ensuring(leave))
  })

  const acquire = (
    path: string,
    options?: LockOptions,
  ): Effect.Effect<LockHandle, LockTimeout | FileError, Scope.Scope> =>
    Effect.gen(function* () {
      const timeoutMs = options?.timeoutMs ?? DEFAULT_TIMEOUT_MS
      const start = yield* Clock.currentTimeMillis
      // released when the scope closes, after the file lock (finalizers run in reverse order)
      yield* local.lockScoped(path).pipe(
        Effect.timeoutOrElse({
          duration: Duration.millis(timeoutMs),
          orElse: () =>
            Effect.fail(
              new LockTimeout({
                path,
                owner: `another fiber of this process (pid ${process.pid})`,
                waitedMs: timeoutMs,
                message: `timed out after ${timeoutMs} ms waiting for the lock ${path} held by another fiber of this process`,
              }),
            ),
        }),
      )
      const queued = (yield* Clock.currentTimeMillis) - start
      // the wait stays interruptible; only the step from "created" to "release registered" is not
      const handle = yield* Effect.acquireRelease(
        Effect.gen(function* () {
          const acquired = yield* Effect.interruptible(
            tryAcquire(path, { ...options, timeoutMs: Math.max(0, timeoutMs - queued) }),
          )
          const beat = yield* Effect.forkDetach(heartbeat(path, acquired.token, options?.staleMs ?? DEFAULT_STALE_MS))
          const handle: LockHandle = {
            path,
            token: acquired.token,
            ownerText: acquired.ownerText,
            waitedMs: acquired.waitedMs + queued,
            recovered: acquired.recovered,
            stillHeld: readOwner(path).pipe(
              Effect.map((owner) => Option.isSome(owner) && owner.value.token === acquired.token),
              Effect.orElseSucceed(() => false),
            ),
            release: Fiber.interrupt(beat).pipe(Effect.andThen(release(path, acquired.token))),
          }
          return handle
        }),
        (handle) => handle.release,
      )
      // a dead owner's leftovers go with it; the first holder in a process also looks once for older ones
      if (handle.recovered || !swept.has(path)) {
        swept.add(path)
        yield* sweep(path)
      }
      return handle
    })

  const withLock = <A, E, R>(
    path: string,
    body: (handle: LockHandle) => Effect.Effect<A, E, R>,
    options?: LockOptions,
  ): Effect.Effect<A, E | LockTimeout | FileError, R> => Effect.scoped(Effect.flatMap(acquire(path, options), body))

  return FileLock.of({ acquire, withLock })
})

export class FileLock extends Context.Service<
  FileLock,
  {
    /** holds the lock for the enclosing scope */
    readonly acquire: (
      path: string,
      options?: LockOptions,
    ) => Effect.Effect<LockHandle, LockTimeout | FileError, Scope.Scope>
    readonly withLock: <A, E, R>(
      path: string,
      body: (handle: LockHandle) => Effect.Effect<A, E, R>,
      options?: LockOptions,
    ) => Effect.Effect<A, E | LockTimeout | FileError, R>
  }
>()("@cortexkit/openai-auth-accounts/FileLock") {
  static readonly layer: Layer.Layer<FileLock, never, Files> = Layer.effect(FileLock, make)
}

export { FileError }
