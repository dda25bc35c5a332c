/**
 * The upgrade's nonce (RFC 6455 §4.1: 16 random bytes, base64, one per connect) and the
 * `Sec-WebSocket-Accept` value the server must answer with (§4.2.2: base64 SHA-1 of key + GUID).
 */
import { createHash } from "node:crypto"

export const WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

type Base64Able = Uint8Array & { toBase64?: () => string }

/** 16 random bytes, base64: the Sec-WebSocket-Key (the runtime's own `toBase64` where there is one). */
export const makeKey = (): string => {
  const bytes = crypto.getRandomValues(new Uint8Array(16)) as Base64Able
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
 * A connector's next nonce and its accept value, made when one of its connections ends (off anyone's clock)
 * for its next connect to take: a nonce made a little early is as good as one made now, and it is still used
 * once. Without a spare, a connect makes its own. Worth ~3 us of a connect on the `raw-ws` bench (side by side).
 */
export class KeyStock {
  private spare: { readonly key: string; readonly accept: string } | undefined = undefined

  fill(): void {
    if (this.spare !== undefined) return
    const key = makeKey()
    this.spare = { key, accept: acceptFor(key) }
  }

  take(): { readonly key: string; readonly accept: string } {
    const spare = this.spare
    if (spare === undefined) {
      const key = makeKey()
      return { key, accept: acceptFor(key) }
    }
    this.spare = undefined
    return spare
  }
}
