/**
 * The directory watch of `Files.watchNames` when the caller follows one name: a `FileSystem.WatchBackend` (the
 * platform's hook for custom watchers) over `node:fs`, kept here so the unstable platform module stays behind `Files`.
 */
import { watch } from "node:fs"
import { Effect, type FileSystem, Option, Queue, Stream } from "effect"

/**
 * How `Files.watchNames` watches a directory when the caller names the one file it follows (`only`): through `FileSystem.WatchBackend`, the
 * platform's hook for custom watchers, handing on only the names `wanted` accepts, as they come. The platform's
 * own watcher stats every name created or removed (to tell the two apart) and forks a fiber for it, in every
 * waiting process, for every file any holder touches: ~13 names per store write (the ticket, the lock's temp
 * file, link, move aside and removal, the store's temp file and rename), 7 waiters in the store bench. That was
 * half the CPU of a contended write, taken from the holder on a small machine (docs/performance.md, "Round 3:
 * store2"). A lock's waiter (accounts LockQueue) needs neither: it only wants to know that the one name it
 * follows changed, and looks at the directory itself when it did.
 */
export const namesBackend = (wanted: (name: string) => boolean): FileSystem.WatchBackend["Service"] => ({
  register: (path, _info, options) =>
    Option.some(
      Stream.callback<FileSystem.WatchEvent>((queue) =>
        Effect.acquireRelease(
          Effect.sync(() => {
            try {
              const watcher = watch(path, { persistent: false }, (_event, name) => {
                if (name !== null && wanted(String(name)))
                  Queue.offerUnsafe(queue, { _tag: "Update", path: String(name) })
              })
              // a watcher that fails ends the stream: the waiter goes on by polling
              watcher.on("error", () => watcher.close())
              watcher.on("close", () => Queue.endUnsafe(queue))
              options?.onReady?.()
              return watcher
            } catch {
              // no watch here (inotify limits, an unsupported file system): the same, from the start
              Queue.endUnsafe(queue)
              return undefined
            }
          }),
          (watcher) => Effect.sync(() => watcher?.close()),
        ),
      ),
    ),
})
