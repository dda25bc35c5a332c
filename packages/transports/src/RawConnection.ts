/**
 * One upgraded raw WebSocket connection: the state machine (open, closing, closed) over a `RawSocket` and a
 * `FrameDecoder`, the close handshake in both directions, and the watchdogs that turn a silent peer into a
 * close with a clear reason. One object per connection with its handlers on the prototype. The watchdogs are
 * `Alarms` on the Effect `Clock` of the fiber that connected: at most one stall/idle alarm and one close alarm
 * at a time, none at all on a connection between whole messages without an idle limit.
 *
 * Events are reported in the order they arrived: messages that came before the caller listened (the rest of
 * the 101's segment) are kept for the first message listener, and a close that followed them waits for them.
 */
import { Effect } from "effect"
import type { Alarms } from "./Alarms.ts"
import { CloseCode, encodeClose, encodePong, type FrameWriter } from "./Frame.ts"
import { FrameDecoder, type FrameSink } from "./FrameDecoder.ts"
import type { KeyStock } from "./HandshakeKey.ts"
import type { RawSocket } from "./RawSocket.ts"
import type { WsConnection } from "./WsConnection.ts"

export interface ConnectionLimits {
  /** default 64 MiB */
  readonly maxMessageBytes?: number
  /** a frame or fragmented message that stops half-way fails the connection after this long (default 60 s) */
  readonly stallTimeoutMs?: number
  /** no byte at all for this long fails the connection (default: off, a pooled socket idles between turns) */
  readonly idleTimeoutMs?: number
  /** how long our close waits for the peer's close frame (default 5 s) */
  readonly closeTimeoutMs?: number
}

const OPEN = 0
const CLOSING = 1
const CLOSED = 2

type Listener = (text: string) => void
type CloseListener = (code: number, reason: string) => void

/** The decoder's sink: one small object forwarding to the connection (whose `onClose` means something else). */
class Sink implements FrameSink {
  constructor(private readonly conn: RawConnection) {}
  onText(text: string): void {
    this.conn.deliver(text)
  }
  onBinary(): void {
    this.conn.fail(CloseCode.UnsupportedData, "binary frame")
  }
  onPing(payload: Uint8Array): void {
    if (this.conn.state !== CLOSED) this.conn.socket.write(encodePong(payload))
  }
  onPong(): void {}
  onClose(code: number, reason: string): void {
    // echo the peer's close unless this already answers ours
    if (this.conn.state === OPEN)
      this.conn.socket.write(code === CloseCode.NoStatus ? encodeClose() : encodeClose(code))
    this.conn.finish(code, reason)
  }
  onError(code: number, message: string): void {
    this.conn.fail(code, message)
  }
}

export class RawConnection implements WsConnection {
  readonly status = 101
  state = OPEN
  /** the first listener in a field (there is one in every use), any more in an array made on first need */
  private listener: Listener | undefined = undefined
  private moreListeners: Array<Listener> | undefined = undefined
  private closeListeners: Array<CloseListener> | undefined = undefined
  /** messages that arrived before the first listener (the rest of the 101's segment): made on first need */
  private pending: Array<string> | undefined = undefined
  private closedWith: { code: number; reason: string } | undefined = undefined
  private lastDataAt: number
  private readonly stallMs: number
  private readonly idleMs: number | undefined
  private readonly closeMs: number
  private cancelWatch: (() => void) | undefined = undefined
  /** when the armed watchdog fires (Clock ms) */
  private watchAt = 0
  private cancelCloseAlarm: (() => void) | undefined = undefined
  private socketGone = false
  private goneWaiters: Array<() => void> | undefined = undefined
  private readonly decoder: FrameDecoder

  constructor(
    readonly socket: RawSocket,
    private readonly upgraded: { readonly headers: Record<string, string> },
    limits: ConnectionLimits,
    private readonly alarms: Alarms,
    /** the connector's: text frames are encoded in its buffer */
    private readonly writer: FrameWriter,
    /** the connector's: refilled when this connection ends, for its next connect */
    private readonly keys: KeyStock,
  ) {
    this.stallMs = limits.stallTimeoutMs ?? 60_000
    this.idleMs = limits.idleTimeoutMs
    this.closeMs = limits.closeTimeoutMs ?? 5_000
    this.lastDataAt = alarms.now()
    this.decoder = new FrameDecoder(
      new Sink(this),
      limits.maxMessageBytes !== undefined ? { maxMessageBytes: limits.maxMessageBytes } : {},
    )
    // the stall watchdog is armed by the first chunk that stops mid-message; only an idle limit runs from here
    if (this.idleMs !== undefined) this.arm(this.idleMs, this.lastDataAt)
  }

  get headers(): Record<string, string> {
    return this.upgraded.headers
  }

  /** Completes once the TCP socket is gone: closed by the peer, or destroyed after the close timeout. */
  get whenGone(): Effect.Effect<void> {
    return Effect.callback<void>((resume) => {
      if (this.socketGone) return resume(Effect.void)
      const done = () => resume(Effect.void)
      if (this.goneWaiters === undefined) this.goneWaiters = [done]
      else this.goneWaiters.push(done)
      return Effect.sync(() => {
        this.goneWaiters = this.goneWaiters?.filter((waiter) => waiter !== done)
      })
    })
  }

  deliver(text: string): void {
    if (this.state === CLOSED) return
    const listener = this.listener
    if (listener === undefined) {
      if (this.pending === undefined) this.pending = [text]
      else this.pending.push(text)
      return
    }
    listener(text)
    const more = this.moreListeners
    if (more !== undefined) for (let i = 0; i < more.length; i++) (more[i] as Listener)(text)
  }

  finish(code: number, reason: string): void {
    if (this.state === CLOSED) return
    this.state = CLOSED
    this.cancelWatch?.()
    this.cancelWatch = undefined
    this.closedWith = { code, reason }
    // after the messages that came before it: those still waiting for a listener report it when they are taken
    if (this.pending === undefined) this.reportClose()
    this.keys.fill()
    // after the close is reported, the socket only needs to go away
    if (this.socketGone) return
    this.socket.end()
    // a socket that did not close at once gets a bounded time to do so
    if (!this.socketGone && this.cancelCloseAlarm === undefined) this.armClose()
  }

  private reportClose(): void {
    const closed = this.closedWith
    const listeners = this.closeListeners
    this.closeListeners = undefined
    if (closed !== undefined && listeners !== undefined) for (const l of listeners) l(closed.code, closed.reason)
  }

  /** Fails the connection: tell the peer why (best effort) and report the same code and reason. */
  fail(code: number, reason: string): void {
    if (this.state === CLOSED) return
    this.socket.write(encodeClose(code, reason))
    this.finish(code, reason)
  }

  /** The watchdog alarm: one at a time, re-armed only while there is something to watch. */
  private arm(ms: number, now: number): void {
    this.cancelWatch?.()
    this.watchAt = now + ms
    this.cancelWatch = this.alarms.after(ms, () => this.watch())
  }

  /** Checks the stall and idle limits from the time of the last chunk, and re-arms for the next moment one could pass. */
  private watch(): void {
    this.cancelWatch = undefined
    if (this.state === CLOSED) return
    const now = this.alarms.now()
    const quiet = now - this.lastDataAt
    const mid = this.decoder.midMessage
    if (mid && quiet >= this.stallMs) {
      this.fail(CloseCode.Abnormal, `peer stalled mid-message: no data for ${Math.round(quiet)} ms`)
      return
    }
    if (this.idleMs !== undefined && quiet >= this.idleMs) {
      this.fail(CloseCode.Abnormal, `idle timeout: no data for ${Math.round(quiet)} ms`)
      return
    }
    // both limits are still ahead (checked above)
    let next = mid ? this.stallMs - quiet : Number.POSITIVE_INFINITY
    if (this.idleMs !== undefined) next = Math.min(next, this.idleMs - quiet)
    if (next !== Number.POSITIVE_INFINITY) this.arm(Math.max(1, next), now)
  }

  data(chunk: Uint8Array): void {
    if (this.state === CLOSED) return
    const now = this.alarms.now()
    this.lastDataAt = now
    this.decoder.push(chunk)
    // a chunk that stops mid-message needs a check within the stall limit; an alarm already due by then
    // re-arms itself for the rest when it fires
    if (this.state !== CLOSED && this.decoder.midMessage) {
      if (this.cancelWatch === undefined || this.watchAt > now + this.stallMs) this.arm(this.stallMs, now)
    }
  }

  socketClosed(error?: Error): void {
    this.socketGone = true
    this.cancelCloseAlarm?.()
    this.cancelCloseAlarm = undefined
    if (this.state !== CLOSED) {
      this.finish(
        CloseCode.Abnormal,
        error === undefined ? "connection closed without a close frame" : `connection lost: ${error.message}`,
      )
    }
    const waiters = this.goneWaiters
    this.goneWaiters = undefined
    if (waiters !== undefined) for (const waiter of waiters) waiter()
  }

  /** Our close, or the end of a finished connection, waits at most `closeTimeoutMs` for the socket to go. */
  private armClose(): void {
    this.cancelCloseAlarm = this.alarms.after(this.closeMs, () => {
      this.cancelCloseAlarm = undefined
      this.finish(CloseCode.Abnormal, `close handshake timed out after ${this.closeMs} ms`)
      this.socket.destroy()
    })
  }

  send(text: string): void {
    if (this.state === OPEN) this.writer.writeText(this.socket, text)
  }

  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.state !== OPEN) return
    this.state = CLOSING
    this.socket.write(encodeClose(code, reason))
    this.armClose()
  }

  onMessage(listener: Listener): void {
    if (this.listener === undefined) this.listener = listener
    else if (this.moreListeners === undefined) this.moreListeners = [listener]
    else this.moreListeners.push(listener)
    const pending = this.pending
    if (pending !== undefined) {
      this.pending = undefined
      for (const text of pending) listener(text)
      if (this.closedWith !== undefined) this.reportClose()
    }
  }

  onClose(listener: CloseListener): void {
    const closed = this.closedWith
    if (closed !== undefined && this.pending === undefined) listener(closed.code, closed.reason)
    else if (this.closeListeners === undefined) this.closeListeners = [listener]
    else this.closeListeners.push(listener)
  }
}
