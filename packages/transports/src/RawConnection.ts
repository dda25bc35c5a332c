/**
 * One upgraded raw WebSocket connection: the state machine (open, closing, closed) over a `RawSocket` and a
 * `FrameDecoder`, the close handshake in both directions, and the watchdogs that turn a silent peer into a
 * close with a clear reason. One object per connection with its handlers on the prototype, its timers taking
 * it as an argument: a connection costs no closures.
 */
import { CloseCode, encodeClose, encodePong, writeTextFrame } from "./Frame.ts"
import { FrameDecoder, type FrameSink } from "./FrameDecoder.ts"
import { prepareKey } from "./HandshakeKey.ts"
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

const runWatch = (conn: RawConnection): void => conn.watch()
const destroySocket = (conn: RawConnection): void => conn.socket.destroy()
const closeTimedOut = (conn: RawConnection): void => conn.closeTimedOut()

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
  /** messages that arrived before the first listener (the rest of the 101's chunk): made on first need */
  private pending: Array<string> | undefined = undefined
  private closedWith: { code: number; reason: string } | undefined = undefined
  private lastDataAt = performance.now()
  private readonly stallMs: number
  private readonly idleMs: number | undefined
  private readonly closeMs: number
  private watchTimer: ReturnType<typeof setTimeout> | undefined = undefined
  /** when the watchdog timer fires (`performance.now()` time) */
  private watchAt = 0
  private closeTimer: ReturnType<typeof setTimeout> | undefined = undefined
  private socketGone = false
  private readonly decoder: FrameDecoder

  constructor(
    readonly socket: RawSocket,
    private readonly upgraded: { readonly headers: Record<string, string>; readonly rest: Uint8Array },
    limits: ConnectionLimits,
  ) {
    this.stallMs = limits.stallTimeoutMs ?? 60_000
    this.idleMs = limits.idleTimeoutMs
    this.closeMs = limits.closeTimeoutMs ?? 5_000
    this.decoder = new FrameDecoder(
      new Sink(this),
      limits.maxMessageBytes !== undefined ? { maxMessageBytes: limits.maxMessageBytes } : {},
    )
    // the stall watchdog is armed by the first chunk that stops mid-message; only an idle limit runs from here
    if (this.idleMs !== undefined) this.arm(this.idleMs, this.lastDataAt)
    if (upgraded.rest.length > 0) this.data(upgraded.rest)
  }

  get headers(): Record<string, string> {
    return this.upgraded.headers
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
    if (this.watchTimer !== undefined) clearTimeout(this.watchTimer)
    this.watchTimer = undefined
    this.closedWith = { code, reason }
    const listeners = this.closeListeners
    this.closeListeners = undefined
    if (listeners !== undefined) for (const listener of listeners) listener(code, reason)
    // the next connect's key, made now rather than on its clock
    prepareKey()
    // after the close is reported, the socket only needs to go away
    if (this.socketGone) return
    this.socket.end()
    // a socket that did not close at once gets a bounded time to do so
    if (!this.socketGone && this.closeTimer === undefined)
      this.closeTimer = setTimeout(destroySocket, this.closeMs, this)
  }

  /** Fails the connection: tell the peer why (best effort) and report the same code and reason. */
  fail(code: number, reason: string): void {
    if (this.state === CLOSED) return
    this.socket.write(encodeClose(code, reason))
    this.finish(code, reason)
  }

  /** The watchdog timer: one at a time, unref'd (the socket, not a watchdog, keeps the process alive). */
  private arm(ms: number, now: number): void {
    if (this.watchTimer !== undefined) clearTimeout(this.watchTimer)
    this.watchAt = now + ms
    this.watchTimer = setTimeout(runWatch, ms, this)
    ;(this.watchTimer as { unref?: () => void }).unref?.()
  }

  /**
   * Checks the stall and idle limits from the time of the last chunk. It re-arms itself rather than being
   * reset on every chunk, and only while there is something to watch: a connection between whole messages
   * without an idle limit has no timer at all.
   */
  watch(): void {
    this.watchTimer = undefined
    if (this.state === CLOSED) return
    const now = performance.now()
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
    // the next moment a limit could pass: both are still ahead (checked above)
    let next = mid ? this.stallMs - quiet : Number.POSITIVE_INFINITY
    if (this.idleMs !== undefined) next = Math.min(next, this.idleMs - quiet)
    if (next !== Number.POSITIVE_INFINITY) this.arm(Math.max(1, next), now)
  }

  data(chunk: Uint8Array): void {
    if (this.state === CLOSED) return
    const now = performance.now()
    this.lastDataAt = now
    this.decoder.push(chunk)
    // a chunk that stops mid-message needs a check within the stall limit; a timer already due by then
    // re-arms itself for the rest when it fires
    if (this.state !== CLOSED && this.decoder.midMessage) {
      if (this.watchTimer === undefined || this.watchAt > now + this.stallMs) this.arm(this.stallMs, now)
    }
  }

  socketClosed(error?: Error): void {
    this.socketGone = true
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer)
    this.closeTimer = undefined
    if (this.state === CLOSED) return
    this.finish(
      CloseCode.Abnormal,
      error === undefined ? "connection closed without a close frame" : `connection lost: ${error.message}`,
    )
  }

  closeTimedOut(): void {
    this.closeTimer = undefined
    this.finish(CloseCode.Abnormal, `close handshake timed out after ${this.closeMs} ms`)
    this.socket.destroy()
  }

  send(text: string): void {
    if (this.state === OPEN) writeTextFrame(this.socket, text)
  }

  close(code: number = CloseCode.Normal, reason = ""): void {
    if (this.state !== OPEN) return
    this.state = CLOSING
    this.socket.write(encodeClose(code, reason))
    this.closeTimer = setTimeout(closeTimedOut, this.closeMs, this)
  }

  onMessage(listener: Listener): void {
    if (this.listener === undefined) this.listener = listener
    else if (this.moreListeners === undefined) this.moreListeners = [listener]
    else this.moreListeners.push(listener)
    const pending = this.pending
    if (pending !== undefined) {
      this.pending = undefined
      for (const text of pending) listener(text)
    }
  }

  onClose(listener: CloseListener): void {
    if (this.closedWith !== undefined) listener(this.closedWith.code, this.closedWith.reason)
    else if (this.closeListeners === undefined) this.closeListeners = [listener]
    else this.closeListeners.push(listener)
  }
}
