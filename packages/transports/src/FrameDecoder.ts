/**
 * Incremental RFC 6455 decoder for server-to-client frames, fed arbitrary chunk boundaries (down to one byte).
 *
 * Each text message is delivered the moment its final frame is complete, never batched, because the Codex
 * stream is token-by-token. A frame that sits wholly inside one chunk is decoded straight from that chunk
 * (no copy); a frame split across chunks is copied once into a buffer of its exact size. Lengths are checked
 * against the message cap from the header, before any payload byte is buffered, so a hostile 64-bit length
 * costs nothing. After the first protocol error (or the peer's close) the decoder ignores further input.
 */
import { isUtf8 } from "node:buffer"
import { CloseCode, DEFAULT_MAX_MESSAGE_BYTES, isValidWireCloseCode, Opcode } from "./Frame.ts"

export interface FrameSink {
  readonly onText: (text: string) => void
  readonly onBinary: (data: Uint8Array) => void
  /** payload is only valid during the call */
  readonly onPing: (payload: Uint8Array) => void
  readonly onPong: (payload: Uint8Array) => void
  /** the peer's close frame; 1005 when it carried no code */
  readonly onClose: (code: number, reason: string) => void
  /** a protocol violation: the connection must be failed with `code` */
  readonly onError: (code: number, message: string) => void
}

export interface FrameDecoderOptions {
  readonly maxMessageBytes?: number
}

const HEADER = 0
const PAYLOAD = 1

const headerLength = (b1: number): number => {
  const len7 = b1 & 0x7f
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0)
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
const looseUtf8 = new TextDecoder("utf-8", { ignoreBOM: true })

/**
 * Small frames (the JSON deltas a Codex stream is made of) are validated by the runtime's native `isUtf8`
 * and decoded by the non-fatal decoder, markedly cheaper per call than the validating decoder or a byte scan
 * in JS; invalid bytes still go to the validating decoder so that it throws. Large payloads go straight to it.
 */
const decodeText = (payload: Uint8Array): string => {
  if (payload.length <= 1024 && isUtf8(payload)) return looseUtf8.decode(payload)
  return strictUtf8.decode(payload)
}

export class FrameDecoder {
  private readonly max: number
  private state = HEADER
  /** only a header split across chunks is gathered here: made on first need */
  private head: Uint8Array | undefined = undefined
  private headLen = 0
  private headNeed = 2
  private fin = false
  private opcode = 0
  private payloadLen = 0
  private payloadFilled = 0
  private payloadBuf: Uint8Array | undefined = undefined
  /** opcode of the fragmented message in progress, 0 when none */
  private fragOpcode = 0
  private fragBytes = 0
  /** the fragments of the message in progress: made on first need (most messages are one frame) */
  private fragText: Array<string> | undefined = undefined
  private fragBinary: Array<Uint8Array> | undefined = undefined
  private fragDecoder: TextDecoder | undefined = undefined
  private stopped = false

  constructor(
    private readonly sink: FrameSink,
    options: FrameDecoderOptions = {},
  ) {
    this.max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  }

  /** true while a frame or a fragmented message is partially received */
  get midMessage(): boolean {
    return !this.stopped && (this.state === PAYLOAD || this.headLen > 0 || this.fragOpcode !== 0)
  }

  get stoppedReading(): boolean {
    return this.stopped
  }

  push(chunk: Uint8Array): void {
    const n = chunk.length
    let pos = 0
    while (pos < n && !this.stopped) {
      if (this.state === HEADER) {
        if (this.headLen === 0 && n - pos >= 2) {
          const need = headerLength(chunk[pos + 1] as number)
          if (n - pos >= need) {
            if (!this.checkFirst(chunk[pos] as number, chunk[pos + 1] as number)) return
            pos += need
            this.onHeader(chunk, pos - need)
            continue
          }
        }
        if (this.head === undefined) this.head = new Uint8Array(14)
        const head = this.head
        head[this.headLen++] = chunk[pos++] as number
        if (this.headLen === 2) {
          if (!this.checkFirst(head[0] as number, head[1] as number)) return
          this.headNeed = headerLength(head[1] as number)
        }
        if (this.headLen >= 2 && this.headLen === this.headNeed) {
          this.headLen = 0
          this.onHeader(head, 0)
        }
        continue
      }
      const need = this.payloadLen - this.payloadFilled
      const avail = n - pos
      if (this.payloadFilled === 0 && avail >= need) {
        this.state = HEADER
        const payload = chunk.subarray(pos, pos + need)
        pos += need
        this.onPayload(payload, false)
        continue
      }
      if (this.payloadBuf === undefined) this.payloadBuf = new Uint8Array(this.payloadLen)
      const take = Math.min(need, avail)
      this.payloadBuf.set(chunk.subarray(pos, pos + take), this.payloadFilled)
      this.payloadFilled += take
      pos += take
      if (this.payloadFilled === this.payloadLen) {
        const payload = this.payloadBuf
        this.payloadBuf = undefined
        this.payloadFilled = 0
        this.state = HEADER
        this.onPayload(payload, true)
      }
    }
  }

  private fail(code: number, message: string): false {
    this.stopped = true
    this.fragText = undefined
    this.fragBinary = undefined
    this.sink.onError(code, message)
    return false
  }

  /** What the first two header bytes alone can refute. */
  private checkFirst(b0: number, b1: number): boolean {
    if (b0 & 0x70) return this.fail(CloseCode.ProtocolError, "RSV bits set without a negotiated extension")
    const opcode = b0 & 0x0f
    const control = opcode >= 0x8
    if (control) {
      if (opcode > Opcode.Pong) return this.fail(CloseCode.ProtocolError, `reserved opcode 0x${opcode.toString(16)}`)
      if (!(b0 & 0x80)) return this.fail(CloseCode.ProtocolError, "fragmented control frame")
      if ((b1 & 0x7f) > 125) return this.fail(CloseCode.ProtocolError, "control frame payload over 125 bytes")
    } else if (opcode > Opcode.Binary) {
      return this.fail(CloseCode.ProtocolError, `reserved opcode 0x${opcode.toString(16)}`)
    } else if (opcode === Opcode.Continuation) {
      if (this.fragOpcode === 0) return this.fail(CloseCode.ProtocolError, "continuation frame without a message")
    } else if (this.fragOpcode !== 0) {
      return this.fail(CloseCode.ProtocolError, "new data frame inside a fragmented message")
    }
    if (b1 & 0x80) return this.fail(CloseCode.ProtocolError, "masked frame from the server")
    return true
  }

  private onHeader(buf: Uint8Array, off: number): void {
    const b0 = buf[off] as number
    const len7 = (buf[off + 1] as number) & 0x7f
    let length: number
    if (len7 < 126) length = len7
    else if (len7 === 126) length = ((buf[off + 2] as number) << 8) | (buf[off + 3] as number)
    else {
      const high =
        (((buf[off + 2] as number) << 24) >>> 0) +
        ((buf[off + 3] as number) << 16) +
        ((buf[off + 4] as number) << 8) +
        (buf[off + 5] as number)
      if (high >= 0x80000000) {
        this.fail(CloseCode.ProtocolError, "64-bit payload length with the most significant bit set")
        return
      }
      const low =
        (((buf[off + 6] as number) << 24) >>> 0) +
        ((buf[off + 7] as number) << 16) +
        ((buf[off + 8] as number) << 8) +
        (buf[off + 9] as number)
      length = high * 0x100000000 + low
    }
    this.fin = (b0 & 0x80) !== 0
    this.opcode = b0 & 0x0f
    if (this.opcode < 0x8 && this.fragBytes + length > this.max) {
      this.fail(
        CloseCode.MessageTooBig,
        `message of ${this.fragBytes + length} bytes exceeds the ${this.max} byte limit`,
      )
      return
    }
    this.payloadLen = length
    this.payloadFilled = 0
    if (length === 0) this.onPayload(new Uint8Array(0), true)
    else this.state = PAYLOAD
  }

  /** `owned`: the bytes are ours (not a view into the caller's chunk) and may be kept. */
  private onPayload(payload: Uint8Array, owned: boolean): void {
    const opcode = this.opcode
    if (opcode >= 0x8) {
      if (opcode === Opcode.Ping) this.sink.onPing(payload)
      else if (opcode === Opcode.Pong) this.sink.onPong(payload)
      else this.onCloseFrame(payload)
      return
    }
    if (opcode !== Opcode.Continuation && this.fin) {
      if (opcode === Opcode.Binary) {
        this.sink.onBinary(owned ? payload : payload.slice())
        return
      }
      let text: string
      try {
        text = decodeText(payload)
      } catch {
        this.fail(CloseCode.InvalidPayload, "invalid UTF-8 in a text message")
        return
      }
      this.sink.onText(text)
      return
    }
    if (opcode !== Opcode.Continuation) {
      this.fragOpcode = opcode
      this.fragBytes = 0
      if (opcode === Opcode.Text) this.fragDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })
    }
    this.fragBytes += payload.length
    if (this.fragOpcode === Opcode.Binary) {
      if (this.fragBinary === undefined) this.fragBinary = []
      this.fragBinary.push(owned ? payload : payload.slice())
      if (this.fin) this.finishBinary()
      return
    }
    // Decoding each fragment as it arrives rejects bad UTF-8 early and never concatenates the bytes.
    try {
      const part = (this.fragDecoder as TextDecoder).decode(payload, { stream: !this.fin })
      if (this.fragText === undefined) this.fragText = [part]
      else this.fragText.push(part)
    } catch {
      this.fail(CloseCode.InvalidPayload, "invalid UTF-8 in a text message")
      return
    }
    if (this.fin) {
      const text = this.fragText?.join("") ?? ""
      this.resetFragments()
      this.sink.onText(text)
    }
  }

  private finishBinary(): void {
    const out = new Uint8Array(this.fragBytes)
    let at = 0
    for (const part of this.fragBinary ?? []) {
      out.set(part, at)
      at += part.length
    }
    this.resetFragments()
    this.sink.onBinary(out)
  }

  private resetFragments(): void {
    this.fragOpcode = 0
    this.fragBytes = 0
    this.fragText = undefined
    this.fragBinary = undefined
    this.fragDecoder = undefined
  }

  private onCloseFrame(payload: Uint8Array): void {
    if (payload.length === 0) {
      this.stopped = true
      this.sink.onClose(CloseCode.NoStatus, "")
      return
    }
    if (payload.length === 1) {
      this.fail(CloseCode.ProtocolError, "close frame with a 1-byte payload")
      return
    }
    const code = ((payload[0] as number) << 8) | (payload[1] as number)
    if (!isValidWireCloseCode(code)) {
      this.fail(CloseCode.ProtocolError, `invalid close code ${code}`)
      return
    }
    let reason: string
    try {
      reason = strictUtf8.decode(payload.subarray(2))
    } catch {
      this.fail(CloseCode.InvalidPayload, "invalid UTF-8 in the close reason")
      return
    }
    this.stopped = true
    this.sink.onClose(code, reason)
  }
}
