/**
 * Open WebSockets, one per (account, session): a follow-up turn reuses the socket its chain lives on.
 *
 * Policy:
 * - one response in flight per socket; a concurrent request for a busy key gets `"busy"` and the transport
 *   sends that one over HTTP (or, with the HTTP fallback off, over a one-off socket that is closed after
 *   the response), so the pooled socket and its chain stay with the conversation;
 * - a socket is not handed out once it is `maxAgeMs` old (default 55 min: the server cuts at 60) or has
 *   been idle `idleMs` (default 5 min); a sweeper on the Effect `Clock` closes such sockets;
 * - a socket opened with other credentials (the Authorization header changed) is replaced;
 * - closing the layer's scope closes every socket.
 */
import { Context, Duration, Effect, Layer } from "effect"
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

export interface WsPoolShape {
  /** the idle pooled socket for this key (now busy), `"busy"` when it is in use, `undefined` when none */
  readonly lease: (accountKey: string, sessionKey: string, authorization: string) => PooledSocket | "busy" | undefined
  /** registers a freshly opened socket, busy; pooled unless the key already has a socket */
  readonly adopt: (accountKey: string, sessionKey: string, authorization: string, conn: WsConnection) => PooledSocket
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

export const makePool = (now: () => number, options: WsPoolOptions = {}): WsPoolShape & { closeAll(): void } => {
  const maxAgeMs = options.maxAgeMs ?? 55 * 60_000
  const idleMs = options.idleMs ?? 5 * 60_000
  const entries = new Map<string, PooledSocket>()
  let nextId = 1

  const retire = (socket: PooledSocket, reason = "retired") => {
    const key = keyOf(socket.accountKey, socket.sessionKey)
    if (entries.get(key) === socket) entries.delete(key)
    socket.chain = undefined
    if (socket.closed) return
    socket.closed = true
    try {
      socket.conn.close(1000, reason)
    } catch {}
  }

  const expired = (socket: PooledSocket, at: number) =>
    at - socket.createdAt >= maxAgeMs || (!socket.busy && at - socket.lastUsedAt >= idleMs)

  const lease: WsPoolShape["lease"] = (accountKey, sessionKey, authorization) => {
    const socket = entries.get(keyOf(accountKey, sessionKey))
    if (socket === undefined) return undefined
    if (socket.busy) return "busy"
    if (socket.closed || socket.authorization !== authorization || expired(socket, now())) {
      retire(socket, "expired")
      return undefined
    }
    socket.busy = true
    return socket
  }

  const adopt: WsPoolShape["adopt"] = (accountKey, sessionKey, authorization, conn) => {
    const key = keyOf(accountKey, sessionKey)
    const at = now()
    const pooled = !entries.has(key)
    const socket: PooledSocket = {
      id: nextId++,
      conn,
      accountKey,
      sessionKey,
      authorization,
      createdAt: at,
      lastUsedAt: at,
      busy: true,
      closed: false,
      pooled,
      chain: undefined,
      onFrame: undefined,
      onClosed: undefined,
    }
    if (pooled) entries.set(key, socket)
    conn.onMessage((text) => socket.onFrame?.(text))
    conn.onClose((code, reason) => {
      socket.closed = true
      socket.chain = undefined
      if (entries.get(key) === socket) entries.delete(key)
      socket.onClosed?.(code, reason)
    })
    return socket
  }

  const release: WsPoolShape["release"] = (socket) => {
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

  return {
    lease,
    adopt,
    release,
    retire,
    sweep,
    size: () => entries.size,
    sockets: () => [...entries.values()],
    closeAll: () => {
      for (const socket of [...entries.values()]) retire(socket, "shutdown")
    },
  }
}

export class WsPool extends Context.Service<WsPool, WsPoolShape>()("@cortexkit/openai-auth-transports/WsPool") {
  /** A pool on the Effect `Clock`, swept in the background, closed with the scope. */
  static readonly make = Effect.fnUntraced(function* (options: WsPoolOptions = {}) {
    const clock = yield* Effect.clockWith(Effect.succeed)
    const pool = yield* Effect.acquireRelease(
      Effect.sync(() => makePool(() => clock.currentTimeMillisUnsafe(), options)),
      (pool) => Effect.sync(() => pool.closeAll()),
    )
    yield* Effect.forkScoped(
      Effect.forever(Effect.andThen(Effect.sleep(Duration.millis(options.sweepEveryMs ?? 30_000)), pool.sweep)),
    )
    return WsPool.of(pool)
  })

  static readonly layerWith = (options: WsPoolOptions = {}) => Layer.effect(WsPool, WsPool.make(options))
  static readonly layer = WsPool.layerWith()
}
