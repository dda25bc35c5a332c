/**
 * Request dumps for prompt-cache debugging: the exact wire body of every Codex request, its redacted
 * metadata, and the host's original request, one set of files per request under a per-session folder.
 * Opt-in only (the files hold full prompts), read by `analyze:cache`. Nothing here may fail or slow the
 * caller's request: every failure ends in the log. A host's request path writes them through `dumpHook`
 * (DumpHook.ts); the OpenCode plugin and the Pi extension both do.
 */
import { join } from "node:path"
import { sha256Hex } from "@cortexkit/openai-auth-core/Digest"
import { Files } from "@cortexkit/openai-auth-core/Files"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { redactValue } from "@cortexkit/openai-auth-core/Redact"
import { Context, Deferred, Effect, Exit, Layer } from "effect"

export interface DumpUsage {
  readonly inputTokens: number
  readonly cachedTokens: number
  readonly outputTokens: number
}

export interface DumpEntry {
  readonly sessionKey: string
  /** per session, increasing */
  readonly sequence: number
  /** epoch ms */
  readonly at: number
  readonly account: string
  readonly transport: string
  readonly model: string
  readonly url: string
  /** the wire headers (redacted before they reach the disk) */
  readonly headers: Readonly<Record<string, string>>
  /** the exact wire body (text is written as its UTF-8 bytes) */
  readonly body: string | Uint8Array
  /** what the host handed to fetch */
  readonly hostRequest: {
    readonly url: string
    readonly headers: Readonly<Record<string, string>>
    readonly body: string
  }
  readonly status?: number
  readonly usage?: DumpUsage
}

/** What `.meta.json` holds: the entry's facts without its bodies, the redacted headers, and the body's size and hash. */
export interface DumpMeta
  extends Pick<
    DumpEntry,
    "sessionKey" | "sequence" | "at" | "account" | "transport" | "model" | "url" | "status" | "usage"
  > {
  readonly headers: unknown
  readonly bytes: number
  readonly sha256: string
}

export const README_NAME = "README.txt"

/** the dump switch OpenCode and Pi share */
const DUMP_VARIABLE = "CORTEXKIT_OPENAI_AUTH_DUMP"

/** The README written into the dump directory; `dumpVariable` is the host's name of the dump switch. */
export const readmeText = (
  dumpVariable: string,
) => `These are ChatGPT (openai-auth) request dumps (dump setting / ${dumpVariable}).

The *.body.json and *.request.json files hold FULL PROMPTS: your conversation, file contents, tool output.
Headers in *.meta.json are redacted, bodies are not.

Delete this directory as soon as you are done debugging, and turn dumps off again:
  /openai-dump off      (or unset ${dumpVariable})

Analyze one session with (from a checkout of the plugin's repository):
  bun run analyze:cache -- --dir <this directory> --session <session id> [--no-timeline] [--wire-context N]
`

/** a session key as one safe path segment */
export const sanitizeSessionKey = (sessionKey: string): string => {
  const cleaned = sessionKey.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_")
  return cleaned === "" ? "_" : cleaned.slice(0, 200)
}

const pad = (sequence: number) => String(sequence).padStart(6, "0")

/** `2026-01-02T03-04-05-678Z`: sortable and free of characters some file systems refuse */
const stamp = (at: number) => new Date(at).toISOString().replace(/[:.]/g, "-")

/** `<dumpDir>/<session>/<seq>-<time>`; the three files add `.body.json`, `.meta.json`, `.request.json` */
export const dumpBase = (dumpDir: string, sessionKey: string, sequence: number, at: number): string =>
  join(dumpDir, sanitizeSessionKey(sessionKey), `${pad(sequence)}-${stamp(at)}`)

/** parses `<seq>-<time>.<kind>.json`; undefined for other names */
export const parseDumpName = (
  name: string,
): { readonly sequence: number; readonly base: string; readonly kind: "body" | "meta" | "request" } | undefined => {
  const match = /^(\d+)-([^.]+)\.(body|meta|request)\.json$/.exec(name)
  if (match === null) return undefined
  return {
    sequence: Number(match[1]),
    base: `${match[1]}-${match[2]}`,
    kind: match[3] as "body" | "meta" | "request",
  }
}

const decoder = new TextDecoder()

const parseOrText = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

export interface DumpsOptions {
  readonly dumpDir: string
  /** the host's environment variable for the dump switch, named in the README (default: the shared one) */
  readonly dumpVariable?: string
  /** the live dump flag, read on every write */
  readonly enabled: Effect.Effect<boolean>
  /** how many recent requests `complete` can still find (default 1000) */
  readonly remember?: number
}

export interface DumpsShape {
  /** writes the three files when dumps are on; never fails */
  readonly write: (entry: DumpEntry) => Effect.Effect<void>
  /** `write` without waiting for the disk (a request path's way); `complete` and the service's end wait for it */
  readonly writeInBackground: (entry: DumpEntry) => Effect.Effect<void>
  /** usage arrived after the request was written: rewrite its meta (once its write is done); never fails */
  readonly complete: (sessionKey: string, sequence: number, usage: DumpUsage) => Effect.Effect<void>
}

/** how long the end of the service (the host shutting down) waits for dumps still being written */
const SHUTDOWN_WAIT_MS = 2_000

const keyOf = (sessionKey: string, sequence: number) => `${sessionKey}\u0000${sequence}`

export class Dumps extends Context.Service<Dumps, DumpsShape>()("@cortexkit/openai-auth-accounts/Dumps") {
  static readonly make = Effect.fnUntraced(function* (options: DumpsOptions) {
    const files = yield* Files
    const log = yield* Logger
    const remember = options.remember ?? 1000
    // key `<session>\u0000<seq>` -> meta path + meta; insertion order doubles as the eviction order
    const written = new Map<string, { readonly path: string; readonly meta: DumpMeta }>()
    const sessionsSeen = new Set<string>()
    // writes still going on, by key: a completion waits for its own, the end of the service for all of them
    const pending = new Map<string, Deferred.Deferred<void>>()
    yield* Effect.addFinalizer(() =>
      Effect.forEach([...pending.values()], Deferred.await, { discard: true }).pipe(
        Effect.timeout(SHUTDOWN_WAIT_MS),
        Effect.ignore,
      ),
    )

    const ensureReadme = Effect.gen(function* () {
      yield* files.makeDir(options.dumpDir, { mode: 0o700 })
      yield* files.createExclusive(
        join(options.dumpDir, README_NAME),
        readmeText(options.dumpVariable ?? DUMP_VARIABLE),
        {
          mode: 0o600,
        },
      )
    })

    const writeFiles = (entry: DumpEntry) =>
      Effect.gen(function* () {
        if (!sessionsSeen.has(entry.sessionKey)) {
          yield* ensureReadme
          sessionsSeen.add(entry.sessionKey)
          if (sessionsSeen.size > remember) sessionsSeen.clear()
        }
        const base = dumpBase(options.dumpDir, entry.sessionKey, entry.sequence, entry.at)
        const wire = typeof entry.body === "string" ? new TextEncoder().encode(entry.body) : entry.body
        const meta: DumpMeta = {
          sessionKey: entry.sessionKey,
          sequence: entry.sequence,
          at: entry.at,
          account: entry.account,
          transport: entry.transport,
          model: entry.model,
          url: entry.url,
          headers: redactValue(entry.headers),
          ...(entry.status === undefined ? {} : { status: entry.status }),
          ...(entry.usage === undefined ? {} : { usage: entry.usage }),
          bytes: wire.byteLength,
          sha256: sha256Hex(wire),
        }
        const request = {
          url: entry.hostRequest.url,
          headers: redactValue(entry.hostRequest.headers),
          body: parseOrText(entry.hostRequest.body),
        }
        yield* files.makeDir(join(options.dumpDir, sanitizeSessionKey(entry.sessionKey)), { mode: 0o700 })
        yield* files.writeAtomic(`${base}.body.json`, wire, { mode: 0o600 })
        yield* files.writeAtomic(`${base}.request.json`, `${JSON.stringify(request, null, 2)}\n`, { mode: 0o600 })
        yield* files.writeAtomic(`${base}.meta.json`, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 })
        const key = keyOf(entry.sessionKey, entry.sequence)
        written.delete(key)
        written.set(key, { path: `${base}.meta.json`, meta })
        if (written.size > remember) {
          const oldest = written.keys().next().value
          if (oldest !== undefined) written.delete(oldest)
        }
      })

    const write = Effect.fn("Dumps.write")(function* (entry: DumpEntry) {
      if (!(yield* options.enabled)) return
      yield* writeFiles(entry).pipe(
        Effect.catchCause((cause) =>
          log.warn("request dump failed", { sessionKey: entry.sessionKey, sequence: entry.sequence, cause }),
        ),
      )
    })

    const writeInBackground = (entry: DumpEntry) =>
      Effect.gen(function* () {
        const key = keyOf(entry.sessionKey, entry.sequence)
        const done = Deferred.makeUnsafe<void>()
        pending.set(key, done)
        const settle = Effect.sync(() => {
          if (pending.get(key) === done) pending.delete(key)
          Deferred.doneUnsafe(done, Exit.void)
        })
        yield* Effect.forkDetach(write(entry).pipe(Effect.ensuring(settle)))
      })

    const complete = Effect.fn("Dumps.complete")(function* (sessionKey: string, sequence: number, usage: DumpUsage) {
      const key = keyOf(sessionKey, sequence)
      const writing = pending.get(key)
      if (writing !== undefined) yield* Deferred.await(writing)
      const found = written.get(key)
      if (found === undefined) return
      const meta: DumpMeta = { ...found.meta, usage }
      written.set(key, { path: found.path, meta })
      yield* files
        .writeAtomic(found.path, `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 })
        .pipe(
          Effect.catchCause((cause) => log.warn("request dump usage update failed", { sessionKey, sequence, cause })),
        )
    })

    return Dumps.of({ write, writeInBackground, complete })
  })

  static readonly layerWith = (options: DumpsOptions): Layer.Layer<Dumps, never, Files | Logger> =>
    Layer.effect(Dumps, Dumps.make(options))
}

/** decoded `.body.json` bytes as text (the analyzer's view) */
export const bodyText = (bytes: Uint8Array): string => decoder.decode(bytes)
