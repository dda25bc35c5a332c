/**
 * The cache-cliff report for one dumped session: per request the body size, the byte prefix shared with
 * the previous request and the cached tokens the backend reported; the cliffs with their causes; a text
 * timeline; optional raw wire context around the first differing byte of each consecutive pair.
 */
import { type Cause, commonPrefix, describeCause, diagnose } from "./Diff.ts"

export interface DumpRecord {
  readonly sequence: number
  readonly at: number
  /** the exact wire bytes (`.body.json`) */
  readonly bytes: Uint8Array
  readonly model?: string
  readonly status?: number
  readonly usage?: { readonly inputTokens: number; readonly cachedTokens: number; readonly outputTokens: number }
}

export interface RequestRow {
  readonly sequence: number
  readonly at: number
  readonly bytes: number
  /** bytes shared with the previous request (0 for the first) */
  readonly sharedPrefix: number
  /** sharedPrefix as a share of the previous request's length, 0..100 (100 for the first) */
  readonly sharedPercent: number
  readonly inputTokens?: number
  readonly cachedTokens?: number
  readonly status?: number
}

export interface Cliff {
  readonly sequence: number
  readonly previous: number
  readonly reason: "prefix-drop" | "cached-collapse"
  readonly firstDifference: number
  readonly causes: ReadonlyArray<Cause>
}

export interface SessionReport {
  readonly rows: ReadonlyArray<RequestRow>
  readonly cliffs: ReadonlyArray<Cliff>
}

export interface AnalyzeOptions {
  /** a cliff when the shared prefix is below this share of the previous request (default 0.5) */
  readonly prefixThreshold?: number
  /** a cliff when cached tokens fall below this share of the previous request's cached tokens (default 0.5) */
  readonly cachedThreshold?: number
}

const decoder = new TextDecoder()

const parse = (bytes: Uint8Array): unknown => {
  try {
    return JSON.parse(decoder.decode(bytes))
  } catch {
    return undefined
  }
}

export const analyzeSession = (records: ReadonlyArray<DumpRecord>, options: AnalyzeOptions = {}): SessionReport => {
  const prefixThreshold = options.prefixThreshold ?? 0.5
  const cachedThreshold = options.cachedThreshold ?? 0.5
  const sorted = [...records].sort((a, b) => a.at - b.at || a.sequence - b.sequence)
  const rows: Array<RequestRow> = []
  const cliffs: Array<Cliff> = []
  sorted.forEach((record, index) => {
    const previous = index > 0 ? sorted[index - 1] : undefined
    const shared = previous === undefined ? 0 : commonPrefix(previous.bytes, record.bytes)
    const prevLength = previous?.bytes.length ?? 0
    const sharedPercent = previous === undefined ? 100 : prevLength === 0 ? 100 : (shared / prevLength) * 100
    rows.push({
      sequence: record.sequence,
      at: record.at,
      bytes: record.bytes.length,
      sharedPrefix: shared,
      sharedPercent,
      ...(record.usage === undefined
        ? {}
        : { inputTokens: record.usage.inputTokens, cachedTokens: record.usage.cachedTokens }),
      ...(record.status === undefined ? {} : { status: record.status }),
    })
    if (previous === undefined) return
    const prefixDrop = shared < prefixLength(prevLength, prefixThreshold)
    const prevCached = previous.usage?.cachedTokens
    const cached = record.usage?.cachedTokens
    const collapse =
      prevCached !== undefined && cached !== undefined && prevCached > 0 && cached < prevCached * cachedThreshold
    if (!prefixDrop && !collapse) return
    cliffs.push({
      sequence: record.sequence,
      previous: previous.sequence,
      reason: prefixDrop ? "prefix-drop" : "cached-collapse",
      firstDifference: shared,
      causes: diagnose(parse(previous.bytes), parse(record.bytes)),
    })
  })
  return { rows, cliffs }
}

const prefixLength = (length: number, share: number) => length * share

const kb = (bytes: number) => (bytes < 1024 ? `${bytes} B` : `${(bytes / 1024).toFixed(1)} KB`)

const BAR = 32

/** one line per request: shared part `█`, new part `░`, scaled to the largest request */
export const renderTimeline = (report: SessionReport): string => {
  const max = Math.max(1, ...report.rows.map((row) => row.bytes))
  const cliffs = new Map(report.cliffs.map((cliff) => [cliff.sequence, cliff]))
  return report.rows
    .map((row, index) => {
      const width = Math.max(1, Math.round((row.bytes / max) * BAR))
      const sharedWidth = index === 0 ? 0 : Math.min(width, Math.round((row.sharedPrefix / max) * BAR))
      const bar = `${"█".repeat(sharedWidth)}${"░".repeat(width - sharedWidth)}`.padEnd(BAR, " ")
      const time = new Date(row.at).toISOString().slice(11, 19)
      const cached = row.cachedTokens === undefined ? "" : `  cached ${row.cachedTokens}/${row.inputTokens ?? "?"}`
      const cliff = cliffs.get(row.sequence)
      const mark = cliff === undefined ? "" : `  << CLIFF: ${cliff.causes.map(describeCause).join("; ") || "?"}`
      const shared = index === 0 ? "first request " : `shared ${row.sharedPercent.toFixed(1).padStart(5)}%`
      return `#${String(row.sequence).padStart(4, "0")} ${time} ${bar} ${kb(row.bytes).padStart(9)}  ${shared}${cached}${mark}`
    })
    .join("\n")
}

/** the per-request table and the cliff list */
export const renderSummary = (report: SessionReport): string => {
  const lines: Array<string> = []
  lines.push("seq      bytes   shared-prefix  shared%   cached/input")
  for (const row of report.rows) {
    const cached = row.cachedTokens === undefined ? "-" : `${row.cachedTokens}/${row.inputTokens ?? "?"}`
    lines.push(
      `${String(row.sequence).padStart(4, "0")} ${String(row.bytes).padStart(10)} ${String(row.sharedPrefix).padStart(15)}  ${row.sharedPercent.toFixed(1).padStart(6)}%   ${cached}`,
    )
  }
  lines.push("")
  if (report.cliffs.length === 0) {
    lines.push(`no cache cliffs in ${report.rows.length} request(s)`)
    return lines.join("\n")
  }
  lines.push(`${report.cliffs.length} cache cliff(s):`)
  for (const cliff of report.cliffs) {
    const why = cliff.reason === "prefix-drop" ? "shared prefix dropped" : "cached tokens collapsed"
    lines.push(
      `  #${cliff.sequence} (after #${cliff.previous}): ${why}, first difference at byte ${cliff.firstDifference}`,
    )
    if (cliff.causes.length === 0) lines.push("    - no structural change found (same JSON, different serialization?)")
    for (const cause of cliff.causes) lines.push(`    - ${describeCause(cause)}`)
  }
  return lines.join("\n")
}

// control characters (JSON bodies only hold them escaped, but a broken dump may not) shown as \xNN
const printable = (bytes: Uint8Array): string => {
  let out = ""
  for (const char of decoder.decode(bytes)) {
    const code = char.charCodeAt(0)
    out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, "0")}` : char
  }
  return out
}

/** `context` bytes either side of the first differing byte of every consecutive pair */
export const renderWireContext = (records: ReadonlyArray<DumpRecord>, context: number): string => {
  const sorted = [...records].sort((a, b) => a.at - b.at || a.sequence - b.sequence)
  const out: Array<string> = []
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]
    const b = sorted[i]
    if (a === undefined || b === undefined) continue
    const at = commonPrefix(a.bytes, b.bytes)
    const header = `#${a.sequence} -> #${b.sequence}: first difference at byte ${at}`
    if (at === a.bytes.length) {
      out.push(`${header} (previous body is a prefix of this one)`)
      continue
    }
    const from = Math.max(0, at - context)
    out.push(header)
    out.push(`  prev: …${printable(a.bytes.subarray(from, at))}⟦${printable(a.bytes.subarray(at, at + context))}⟧`)
    out.push(`  this: …${printable(b.bytes.subarray(from, at))}⟦${printable(b.bytes.subarray(at, at + context))}⟧`)
  }
  return out.join("\n")
}
