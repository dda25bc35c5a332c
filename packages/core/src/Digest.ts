/**
 * SHA-256 and random hex for names and keys, without loading `node:crypto` until a hash is asked for: the
 * module costs ~4 MB resident in a process that has not loaded it yet, and a plugin's plain requests need
 * neither (docs/performance.md, start memory). Random bytes come from Web Crypto (`globalThis.crypto`, in
 * Node and Bun alike); a hash loads `node:crypto` through `process.getBuiltinModule` (Node >= 22.3, Bun) on
 * its first call, and the runtime keeps it loaded from then on.
 */

/** the lowercase hex SHA-256 of the parts, hashed one after the other */
export const sha256Hex = (...parts: ReadonlyArray<string | Uint8Array>): string => {
  const hash = process.getBuiltinModule("node:crypto").createHash("sha256")
  for (const part of parts) hash.update(part)
  return hash.digest("hex")
}

/** `bytes` random bytes as lowercase hex (twice as many characters) */
export const randomHex = (bytes: number): string => {
  const buffer = new Uint8Array(bytes)
  globalThis.crypto.getRandomValues(buffer)
  return Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength).toString("hex")
}
