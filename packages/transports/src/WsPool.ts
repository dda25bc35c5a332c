/**
 * Open WebSockets, one per (account, session): a follow-up turn reuses the socket its chain lives on.
 *
 * Policy:
 * - one response in flight per socket; a concurrent request for a busy key gets `"busy"` and the transport
 *   sends that one over HTTP (or, with the HTTP fallback off, over a one-off socket that is closed after
 *   the response), so the pooled socket and its chain stay with the conversation;
 * - a socket is not handed out once it is `maxAgeMs` old (default 55 min: the server cuts at 60) or has
 *   been idle `idleMs` (default 5 min); a sweeper on the Effect `Clock` closes such sockets;
 * - a socket opened with other credentials (the Authorization header changed) is replaced, and a socket
 *   retired after an error forgets its chain;
 * - every socket is acquired in a scope of its own, a child of the pool's: retiring a socket closes its
 *   scope, and closing the pool's scope closes every socket.
 *
 * `lease` and `open` are Effects; `release` and `retire` are called from the socket's own callbacks when a
 * response ends, so they are plain functions.
 */
import { Duration, Effect, Exit, Scope } from "effect"
import type { ChainState } from "./WsChain.ts"
import type { WsConnection } from "./WsConnection.ts"

export interface PooledSocket {
  readonly id: number
  readonly conn: WsConnection
  readonly accountKey: string
  readonly sessionKey: string
  readonly authorization: string
  readonly createdAt: number
  lastUsedAt: number
  busy: boolean
  closed: boolean
  /** whether the pool owns it (false for one-off sockets) */
  readonly pooled: boolean
  chain: ChainState | undefined
  /** routes the socket's frames / close to the response in flight */
  onFrame: ((text: string) => void) | undefined
  onClosed: ((code: number, reason: string) => void) | undefined
}

export interface WsPoolOptions {
  readonly maxAgeMs?: number
  readonly idleMs?: number
  /** how often the sweeper looks (default 30 s) */
  readonly sweepEveryMs?: number
}

export interface SocketKey {
  readonly accountKey: string
  readonly sessionKey: string
  readonly authorization: string
}

export interface WsPoolShape {
  /** the idle pooled socket for this key (now busy), `"busy"` when it is in use, `undefined` when none */
  readonly lease: (key: SocketKey) => Effect.Effect<PooledSocket | "busy" | undefined>
  /**
   * Opens a socket with `connect` in a scope of its own and registers it, busy; pooled unless the key already
   * has a socket. A failed or interrupted connect leaves nothing behind.
   */
  readonly open: <E>(
    key: SocketKey,
    connect: Effect.Effect<WsConnection, E, Scope.Scope>,
  ) => Effect.Effect<PooledSocket, E>
  /** the response on it ended cleanly: it may serve the next one */
  readonly release: (socket: PooledSocket) => void
  /** close it and forget it (error, drop, abort, reconnect) */
  readonly retire: (socket: PooledSocket, reason?: string) => void
  /** closes expired idle sockets */
  readonly sweep: Effect.Effect<void>
  readonly size: () => number
  readonly sockets: () => ReadonlyArray<PooledSocket>
}

const keyOf = (accountKey: string, sessionKey: string) => `${accountKey}\u0000${sessionKey}`

interface Entry extends PooledSocket {
  readonly scope: Scope.Closeable
}

/** A pool on the Effect `Clock`, swept in the background, its sockets closed with the current scope. */
export const makeWsPool = Effect.fnUntraced(function* (options: WsPoolOptions = {}) {
  const clock = yield* Effect.clockWith(Effect.succeed)
  const scope = yield* Effect.scope
  const now = () => clock.currentTimeMillisUnsafe()
  const maxAgeMs = options.maxAgeMs ?? 55 * 60_000
  const idleMs = options.idleMs ?? 5 * 60_000
  const entries = new Map<string, Entry>()
  let nextId = 1

  /** Forgets the socket and closes its scope (whose finalizer closes a connection still open). */
  const forget = (entry: Entry) => {
    const key = keyOf(entry.accountKey, entry.sessionKey)
    if (entries.get(key) === entry) entries.delete(key)
    entry.chain = undefined
    const finalize = Scope.closeUnsafe(entry.scope, Exit.void)
    if (finalize !== undefined) Effect.runFork(finalize)
  }

  const retire = (socket: PooledSocket, reason = "retired") => {
    const entry = socket as Entry
    if (!entry.closed) {
      entry.closed = true
      entry.conn.close(1000, reason)
    }
    forget(entry)
  }

  const expired = (socket: PooledSocket, at: number) =>
    at - socket.createdAt >= maxAgeMs || (!socket.busy && at - socket.lastUsedAt >= idleMs)

  const lease = (key: SocketKey) =>
    Effect.sync((): PooledSocket | "busy" | undefined => {
      const socket = entries.get(keyOf(key.accountKey, key.sessionKey))
      if (socket === undefined) return undefined
      if (socket.busy) return "busy"
      if (socket.closed || socket.authorization !== key.authorization || expired(socket, now())) {
        retire(socket, "expired")
        return undefined
      }
      socket.busy = true
      return socket
    })

  const adopt = (key: SocketKey, conn: WsConnection, socketScope: Scope.Closeable): PooledSocket => {
    const mapKey = keyOf(key.accountKey, key.sessionKey)
    // a socket already open for the key (a concurrent connect won) stays the pooled one: this one is one-off
    const at = now()
    const pooled = !entries.has(mapKey)
    const socket: Entry = {
      id: nextId++,
      conn,
      accountKey: key.accountKey,
      sessionKey: key.sessionKey,
      authorization: key.authorization,
      createdAt: at,
      lastUsedAt: at,
      busy: true,
      closed: false,
      pooled,
      chain: undefined,
      onFrame: undefined,
      onClosed: undefined,
      scope: socketScope,
    }
    if (pooled) entries.set(mapKey, socket)
    conn.onMessage((text) => socket.onFrame?.(text))
    conn.onClose((code, reason) => {
      socket.closed = true
      forget(socket)
      socket.onClosed?.(code, reason)
    })
    return socket
  }

  const open = <E>(key: SocketKey, connect: Effect.Effect<WsConnection, E, Scope.Scope>) =>
    Effect.flatMap(Scope.fork(scope), (socketScope) =>
      Scope.provide(socketScope)(connect).pipe(
        Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Scope.close(socketScope, exit))),
        Effect.map((conn) => adopt(key, conn, socketScope)),
      ),
    )

  const release = (socket: PooledSocket) => {
    socket.onFrame = undefined
    socket.onClosed = undefined
    socket.busy = false
    socket.lastUsedAt = now()
    if (!socket.pooled) retire(socket, "one-off")
  }

  const sweep = Effect.sync(() => {
    const at = now()
    for (const socket of [...entries.values()]) if (!socket.busy && expired(socket, at)) retire(socket, "expired")
  })

  yield* Effect.forkScoped(
    Effect.forever(Effect.andThen(Effect.sleep(Duration.millis(options.sweepEveryMs ?? 30_000)), sweep)),
  )

  const pool: WsPoolShape = {
    lease,
    open,
    release,
    retire,
    sweep,
    size: () => entries.size,
    sockets: () => [...entries.values()],
  }
  return pool
})
