/**
 * The upgrade's nonce (RFC 6455 §4.1: 16 random bytes, base64, one per connect) and the
 * `Sec-WebSocket-Accept` value the server must answer with (§4.2.2: base64 SHA-1 of key + GUID).
 */
import { createHash } from "node:crypto"
import { randomView } from "./Frame.ts"

export const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

type Base64Able = Uint8Array & { toBase64?: () => string }

/** 16 random bytes, base64: the Sec-WebSocket-Key (the runtime's own `toBase64` where there is one). */
export const makeKey = (): string => {
  const bytes = randomView(16) as Base64Able
  return bytes.toBase64 !== undefined ? bytes.toBase64() : Buffer.from(bytes).toString("base64")
}

const bunSha1 = (globalThis as { Bun?: { SHA1: { hash: (input: string, encoding: "base64") => string } } }).Bun?.SHA1

/** Bun's one-shot SHA1 is about three times cheaper than a `node:crypto` hash object; both give the same bytes. */
export const acceptFor = (key: string): string =>
  bunSha1 !== undefined
    ? bunSha1.hash(key + WS_GUID, "base64")
    : createHash("sha1")
        .update(key + WS_GUID)
        .digest("base64")

/**
 * One key and its accept value made ahead, when a connection ends (off anyone's clock), for the next connect
 * to take: a nonce made a little early is as good as one made now, and it is still used once.
 */
let spareKey: string | undefined
let spareAccept = ""
let takenKey: string | undefined
let takenAccept = ""

export const prepareKey = (): void => {
  if (spareKey !== undefined) return
  spareKey = makeKey()
  spareAccept = acceptFor(spareKey)
}

/** A fresh key: the prepared one when there is one (its accept value goes to the parser made for it). */
export const takeKey = (): string => {
  if (spareKey === undefined) return makeKey()
  takenKey = spareKey
  takenAccept = spareAccept
  spareKey = undefined
  return takenKey
}

/** The accept value for `key`: already known when `key` is the one just taken. */
export const expectedAccept = (key: string): string => (key === takenKey ? takenAccept : acceptFor(key))
