/**
 * The waiting room of the cross-process lock (FileLock.ts), and what else lies beside the lock: first come,
 * first served. A waiter leaves a
 * ticket `<lock>.q.<time>.<host>.<pid>.<random>` next to the lock and only the oldest live ticket tries to
 * take it, so a process that has just released cannot take the lock straight back while others wait.
 * Waiters sleep until the name they follow changes in the directory (fs.watch), with a short poll as the
 * safety net. Tickets only order the attempts; the lock's exclusive create is still what guarantees one
 * owner, so a ticket that is lost, stale or ignored costs fairness, never safety.
 */
import { hostname } from "node:os"
import { basename, dirname, join } from "node:path"
import { randomHex, sha256Hex } from "@cortexkit/openai-auth-core/Digest"
import { deadTemps, type Files, pidAlive } from "@cortexkit/openai-auth-core/Files"
import { Clock, Deferred, Effect, Latch, Option, Stream } from "effect"

export const host = hostname()
/** the short tag of a host name in ticket names (a function: hashing loads `node:crypto`, see core Digest.ts) */
const tagOf = (name: string) => sha256Hex(name).slice(0, 8)
/** a waiter refreshes its ticket's mtime this often; one left alone for TICKET_IDLE_MS loses its place */
export const TICKET_BEAT_MS = 250
export const TICKET_IDLE_MS = 2_000
/** the longest sleeps between two looks when no change notice arrives (the notice is the normal wake-up) */
export const POLL_MS = { head: 25, queued: 200, headUnwatched: 4, queuedUnwatched: 25 }

/** the name of a waiter's ticket next to the lock; sorted by name, tickets are in arrival order */
export const ticketName = (lockPath: string, atMs: number, pid = process.pid, onHost = host): string =>
  `${basename(lockPath)}.q.${String(Math.max(0, Math.floor(atMs))).padStart(15, "0")}.${tagOf(
    onHost,
  )}.${pid}.${randomHex(4)}`

/**
 * Wakes a waiter when one name changes in the lock's directory: the lock itself for the head of the queue
 * (released or renamed aside), the ticket just ahead for the others (so a release wakes one process, not
 * all). A change that arrives while the waiter is busy is remembered (the latch stays open), so none is missed
 * between a look and the next wait. Watching lives as long as the enclosing scope; where the platform cannot
 * watch, `watched` is false and waiting is a plain sleep.
 */
export const watchDir = (files: Files["Service"], dir: string) =>
  Effect.gen(function* () {
    const notice = yield* Latch.make(false)
    const ready = yield* Deferred.make<boolean>()
    let followed: string | undefined
    let watching = false
    yield* files
      .watchNames(
        dir,
        () => {
          watching = true
          Deferred.doneUnsafe(ready, Effect.succeed(true))
        },
        // only the followed name: the platform's own watcher stats every name and forks a fiber for it
        (name) => name === followed,
      )
      .pipe(
        Stream.runForEach((name) => Effect.sync(() => name === followed && notice.openUnsafe())),
        Effect.ignore,
        // failed or ended: from now on the waiter only polls
        Effect.ensuring(
          Effect.sync(() => {
            watching = false
            Deferred.doneUnsafe(ready, Effect.succeed(false))
          }),
        ),
        Effect.forkScoped,
      )
    yield* Deferred.await(ready)
    return {
      watched: () => watching,
      follow: (name: string) => {
        if (followed !== name) notice.closeUnsafe()
        followed = name
      },
      wait: (ms: number): Effect.Effect<void> =>
        watching
          ? Effect.raceFirst(notice.await, Effect.sleep(ms)).pipe(
              Effect.andThen(Effect.sync(() => notice.closeUnsafe())),
            )
          : Effect.sleep(ms),
    }
  })

export type DirWatch = Effect.Success<ReturnType<typeof watchDir>>

export const uniqueAside = (path: string, what: string) => `${path}.${what}.${process.pid}.${randomHex(6)}`

/** a lock moved aside by `breakStale` or `release` whose mover died before removing it */
const deadAsides = (path: string, names: ReadonlyArray<string>) => {
  const prefix = `${basename(path)}.`
  return names.filter((name) => {
    const match = /^(?:stale|release)\.(\d+)\.[0-9a-f]{12}$/.exec(
      name.startsWith(prefix) ? name.slice(prefix.length) : "",
    )
    const pid = Number(match?.[1] ?? Number.NaN)
    return match !== null && pid !== process.pid && !pidAlive(pid)
  })
}

export const makeQueue = (files: Files["Service"]) => {
  const ticketPrefix = (path: string) => `${basename(path)}.q.`

  /**
   * Where this waiter stands: the oldest ticket still waiting (undefined when nobody waits) and the ticket
   * just ahead of ours. Tickets of dead local processes and long-abandoned ones are removed; one that missed
   * its beats is passed over, so a frozen waiter cannot hold up the queue.
   */
  const queueState = Effect.fnUntraced(function* (path: string, mine: string | undefined, staleMs: number) {
    const prefix = ticketPrefix(path)
    const names = yield* files.list(dirname(path)).pipe(
      Effect.map((all) => all.filter((n) => n.startsWith(prefix)).sort()),
      Effect.orElseSucceed((): Array<string> => []),
    )
    const index = mine === undefined ? -1 : names.indexOf(mine)
    const ahead = index > 0 ? names[index - 1] : undefined
    const now = yield* Clock.currentTimeMillis
    for (const name of names) {
      if (name === mine) return { head: name, ahead }
      const [, tag, pid] = name.slice(prefix.length).split(".")
      const ticket = join(dirname(path), name)
      if (tag === tagOf(host) && !pidAlive(Number(pid))) {
        yield* Effect.ignore(files.remove(ticket))
        continue
      }
      const stat = yield* files.stat(ticket).pipe(Effect.orElseSucceed(() => Option.none()))
      if (Option.isNone(stat)) continue
      const idle = now - stat.value.mtimeMs
      if (idle > staleMs) yield* Effect.ignore(files.remove(ticket))
      if (idle > TICKET_IDLE_MS) continue
      return { head: name, ahead }
    }
    return { head: undefined, ahead }
  })

  /** an empty file, created only if absent: one open(O_EXCL), cheaper than the lock's write-and-link */
  const enqueue = (path: string, name: string) =>
    files.createEmpty(join(dirname(path), name)).pipe(Effect.orElseSucceed(() => false))

  /** removes what killed processes left beside the lock: their temp files and locks moved aside */
  const sweep = (path: string) =>
    files.list(dirname(path)).pipe(
      Effect.flatMap((names) =>
        Effect.forEach([...deadTemps(path, names), ...deadAsides(path, names)], (name) =>
          files.remove(join(dirname(path), name)),
        ),
      ),
      Effect.ignore,
    )

  return { queueState, enqueue, sweep }
}
