/**
 * RFC 6455 frame encoding for the client side. A client MUST mask every frame with a fresh random key
 * (RFC 6455 §5.3), so each frame gets its own 4 bytes from the CSPRNG. Masking runs over 32-bit words where
 * the buffer is aligned: a text frame of a large request body is the one hot write path.
 */

export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const

export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  NoStatus: 1005,
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  InternalError: 1011,
} as const

/** Default cap on one reassembled message; a length above it is refused from the frame header alone. */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024

const encoder = new TextEncoder()
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/**
 * XORs `length` bytes of `buf` starting at `offset` with `key`, where `keyPhase` says which key byte applies
 * to `buf[offset]`. Bytes run one at a time until the address is 4-aligned, then as 32-bit words (the key
 * word is built from memory-order bytes, so endianness cancels out).
 */
export const maskInPlace = (buf: Uint8Array, offset: number, length: number, key: Uint8Array, keyPhase = 0): void => {
  const k0 = key[0] as number
  const k1 = key[1] as number
  const k2 = key[2] as number
  const k3 = key[3] as number
  const keyAt = (j: number): number => {
    const m = j & 3
    return m === 0 ? k0 : m === 1 ? k1 : m === 2 ? k2 : k3
  }
  let i = 0
  const end = length
  // small frames (every control frame, a typical turn's request) skip the word setup altogether
  if (length < 64) {
    for (; i < end; i++) buf[offset + i] = (buf[offset + i] as number) ^ keyAt(keyPhase + i)
    return
  }
  // head: align the absolute address to 4
  while (i < end && (buf.byteOffset + offset + i) % 4 !== 0) {
    buf[offset + i] = (buf[offset + i] as number) ^ keyAt(keyPhase + i)
    i++
  }
  const words = (end - i) >>> 2
  if (words > 0) {
    const p = keyPhase + i
    // the key bytes in memory order read as one native-endian word
    const b0 = keyAt(p)
    const b1 = keyAt(p + 1)
    const b2 = keyAt(p + 2)
    const b3 = keyAt(p + 3)
    const keyWord = LITTLE_ENDIAN
      ? (b0 | (b1 << 8) | (b2 << 16) | (b3 << 24)) >>> 0
      : ((b0 << 24) | (b1 << 16) | (b2 << 8) | b3) >>> 0
    const view = new Uint32Array(buf.buffer, buf.byteOffset + offset + i, words)
    for (let w = 0; w < words; w++) view[w] = (view[w] as number) ^ keyWord
    i += words * 4
  }
  for (; i < end; i++) buf[offset + i] = (buf[offset + i] as number) ^ keyAt(keyPhase + i)
}

const headerSize = (length: number): number => (length < 126 ? 2 : length < 65536 ? 4 : 10) + 4

/** Writes a FIN frame header (with the mask bit and key) at 0 and returns the payload offset. */
const writeHeader = (frame: Uint8Array, opcode: number, length: number, key: Uint8Array): number => {
  frame[0] = 0x80 | opcode
  let pos: number
  if (length < 126) {
    frame[1] = 0x80 | length
    pos = 2
  } else if (length < 65536) {
    frame[1] = 0x80 | 126
    frame[2] = length >>> 8
    frame[3] = length & 0xff
    pos = 4
  } else {
    frame[1] = 0x80 | 127
    const high = Math.floor(length / 0x100000000)
    const low = length >>> 0
    frame[2] = 0
    frame[3] = 0
    frame[4] = (high >>> 8) & 0xff
    frame[5] = high & 0xff
    frame[6] = low >>> 24
    frame[7] = (low >>> 16) & 0xff
    frame[8] = (low >>> 8) & 0xff
    frame[9] = low & 0xff
    pos = 10
  }
  frame.set(key, pos)
  return pos + 4
}

/** A fresh mask key from the CSPRNG (RFC 6455 §5.3: unpredictable, one per frame). */
const freshKey = (): Uint8Array => crypto.getRandomValues(new Uint8Array(4))

/** where `encodeText` puts the payload: room for the longest header (2 + 8 length + 4 key bytes), 4-aligned */
const PAYLOAD_AT = 16

/** Where a frame's bytes can go without being kept: sent at once, or copied (`RawSocket.writeTransient`). */
export interface TransientSink {
  readonly writeTransient: (bytes: Uint8Array, start: number, end: number) => void
}

/** Text frames of up to this many UTF-16 units (3 UTF-8 bytes each at most) go through a writer's buffer. */
export const TRANSIENT_TEXT_MAX = 16 * 1024

/**
 * Text frames (a turn's `response.create` is one) encoded, masked and handed to a sink straight from one
 * buffer the writer keeps: no allocation and no typed-array view made per frame. A frame in a fresh buffer
 * costs its sender ~10-15 us more from `send` to the first answer on Bun (the `raw-ws` bench, side by side):
 * the runtime materialises a new array's backing store to send it. The buffer holds nothing between two
 * writes (the sink sends or copies the bytes at once), so one writer serves every connection of a connector.
 * The UTF-8 bytes land 4-aligned, so the mask runs over 32-bit words from the first byte. Longer texts take
 * `encodeText`, which owns its frame.
 */
export class FrameWriter {
  private readonly bytes = new Uint8Array(PAYLOAD_AT + 3 * TRANSIENT_TEXT_MAX)
  private readonly words = new Uint32Array(this.bytes.buffer)
  private readonly text = Buffer.from(this.bytes.buffer)
  /** where the mask key goes, right before the payload */
  private readonly key = this.bytes.subarray(PAYLOAD_AT - 4, PAYLOAD_AT)

  /** `text` as UTF-8, unframed (the upgrade request), through the same buffer. */
  writeBytesOf(sink: TransientSink, text: string): void {
    if (text.length > TRANSIENT_TEXT_MAX) {
      const bytes = encoder.encode(text)
      sink.writeTransient(bytes, 0, bytes.length)
      return
    }
    sink.writeTransient(this.bytes, 0, this.text.write(text, 0))
  }

  writeText(sink: TransientSink, text: string): void {
    if (text.length > TRANSIENT_TEXT_MAX) {
      const frame = encodeText(text)
      sink.writeTransient(frame, 0, frame.length)
      return
    }
    const buf = this.bytes
    const n = this.text.write(text, PAYLOAD_AT)
    let start: number
    if (n < 126) {
      start = PAYLOAD_AT - 6
      buf[start + 1] = 0x80 | n
    } else {
      start = PAYLOAD_AT - 8
      buf[start + 1] = 0x80 | 126
      buf[start + 2] = n >>> 8
      buf[start + 3] = n & 0xff
    }
    buf[start] = 0x80 | Opcode.Text
    crypto.getRandomValues(this.key)
    const k0 = buf[PAYLOAD_AT - 4] as number
    const k1 = buf[PAYLOAD_AT - 3] as number
    const k2 = buf[PAYLOAD_AT - 2] as number
    const k3 = buf[PAYLOAD_AT - 1] as number
    // the key bytes in memory order read as one native-endian word
    const keyWord = LITTLE_ENDIAN
      ? (k0 | (k1 << 8) | (k2 << 16) | (k3 << 24)) >>> 0
      : ((k0 << 24) | (k1 << 16) | (k2 << 8) | k3) >>> 0
    const words = this.words
    const first = PAYLOAD_AT >>> 2
    const last = first + (n >>> 2)
    for (let w = first; w < last; w++) words[w] = (words[w] as number) ^ keyWord
    const end = PAYLOAD_AT + n
    for (let i = last << 2, j = PAYLOAD_AT - 4; i < end; i++, j++) buf[i] = (buf[i] as number) ^ (buf[j] as number)
    sink.writeTransient(buf, start, end)
  }
}

/** One masked FIN frame carrying `payload` (copied; the caller's bytes are never modified). */
export const encodeFrame = (opcode: number, payload: Uint8Array, key: Uint8Array = freshKey()): Uint8Array => {
  const frame = new Uint8Array(headerSize(payload.length) + payload.length)
  const offset = writeHeader(frame, opcode, payload.length, key)
  frame.set(payload, offset)
  maskInPlace(frame, offset, payload.length, key)
  return frame
}

/**
 * A text frame, UTF-8 encoded straight into the frame buffer (one allocation, no copy of the payload): the
 * text is encoded after room for the longest header, and the frame starts where its actual header does.
 */
export const encodeText = (text: string, key: Uint8Array = freshKey()): Uint8Array => {
  // UTF-16 code units expand to at most 3 UTF-8 bytes
  const scratch = new Uint8Array(PAYLOAD_AT + text.length * 3)
  const { written } = encoder.encodeInto(text, scratch.subarray(PAYLOAD_AT))
  const offset = headerSize(written)
  const frame = scratch.subarray(PAYLOAD_AT - offset, PAYLOAD_AT + written)
  writeHeader(frame, Opcode.Text, written, key)
  maskInPlace(frame, offset, written, key)
  return frame
}

/** A close frame: no payload when `code` is absent, else 2-byte code + UTF-8 reason (cut to fit 125 bytes). */
export const encodeClose = (code?: number, reason = "", key: Uint8Array = freshKey()): Uint8Array => {
  if (code === undefined) return encodeFrame(Opcode.Close, new Uint8Array(0), key)
  let reasonBytes = encoder.encode(reason)
  if (reasonBytes.length > 123) {
    // cut on a UTF-8 boundary so the peer does not fail the close with 1007
    let cut = 123
    while (cut > 0 && ((reasonBytes[cut] as number) & 0xc0) === 0x80) cut--
    reasonBytes = reasonBytes.subarray(0, cut)
  }
  const payload = new Uint8Array(2 + reasonBytes.length)
  payload[0] = code >>> 8
  payload[1] = code & 0xff
  payload.set(reasonBytes, 2)
  return encodeFrame(Opcode.Close, payload, key)
}

export const encodePong = (payload: Uint8Array): Uint8Array => encodeFrame(Opcode.Pong, payload)

/** Close codes a peer may put on the wire (RFC 6455 §7.4.1; 1005/1006/1015 are never sent). */
export const isValidWireCloseCode = (code: number): boolean =>
  (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)
