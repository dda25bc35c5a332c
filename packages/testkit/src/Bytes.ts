/** Byte helpers for tests that cut streams at arbitrary places (SSE parsers, observers, commit points). */

/** `all` cut at the given offsets (taken modulo its length + 1, deduplicated and sorted) */
export const splitAt = (all: Uint8Array, cuts: ReadonlyArray<number>): Array<Uint8Array> => {
  const sorted = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b)
  const out: Array<Uint8Array> = []
  let prev = 0
  for (const c of sorted) {
    out.push(all.subarray(prev, c))
    prev = c
  }
  out.push(all.subarray(prev))
  return out
}

/** the parts one after another in one array */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    all.set(p, at)
    at += p.length
  }
  return all
}
