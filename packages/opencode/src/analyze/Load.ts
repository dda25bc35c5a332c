/**
 * Reads one session's dumps back from the dump directory in send order (time, then sequence: a restarted
 * process starts its sequence numbers again). Listing a directory is not
 * something core `Files` offers (the plugin never needs it), so this CLI-only reader uses `FileSystem`.
 */
import { join } from "node:path"
import { parseDumpName, sanitizeSessionKey } from "@cortexkit/openai-auth-accounts/Dumps"
import { Effect, FileSystem, Schema } from "effect"
import type { DumpRecord } from "./Report.ts"

export class DumpDirMissing extends Schema.TaggedError<DumpDirMissing>()("DumpDirMissing", {
  dumpDir: Schema.String,
}) {}

export class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", {
  session: Schema.String,
  dumpDir: Schema.String,
  available: Schema.Array(Schema.String),
}) {}

export class NoDumps extends Schema.TaggedError<NoDumps>()("NoDumps", {
  session: Schema.String,
  path: Schema.String,
}) {}

export class DumpReadError extends Schema.TaggedError<DumpReadError>()("DumpReadError", {
  path: Schema.String,
  message: Schema.String,
}) {}

export type LoadError = DumpDirMissing | SessionNotFound | NoDumps | DumpReadError

const Usage = Schema.Struct({
  inputTokens: Schema.Number,
  cachedTokens: Schema.Number,
  outputTokens: Schema.Number,
})

const Meta = Schema.Struct({
  sequence: Schema.optional(Schema.Number),
  at: Schema.optional(Schema.Number),
  model: Schema.optional(Schema.String),
  status: Schema.optional(Schema.Number),
  usage: Schema.optional(Usage),
})

const decodeMeta = Schema.decodeUnknownOption(Meta)

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** the session names present in `dumpDir` (sub-directories) */
export const listSessions = Effect.fnUntraced(function* (dumpDir: string) {
  const fs = yield* FileSystem.FileSystem
  const exists = yield* fs.exists(dumpDir).pipe(Effect.orElseSucceed(() => false))
  if (!exists) return yield* new DumpDirMissing({ dumpDir })
  const entries = yield* fs
    .readDirectoryEntries(dumpDir)
    .pipe(Effect.mapError((error) => new DumpReadError({ path: dumpDir, message: error.message })))
  return entries
    .filter((entry) => entry.type === "Directory")
    .map((entry) => entry.name)
    .sort()
})

export const loadSession = Effect.fnUntraced(function* (dumpDir: string, session: string) {
  const fs = yield* FileSystem.FileSystem
  const sessions = yield* listSessions(dumpDir)
  const name = sanitizeSessionKey(session)
  if (!sessions.includes(name)) return yield* new SessionNotFound({ session, dumpDir, available: sessions })
  const dir = join(dumpDir, name)
  const names = yield* fs
    .readDirectory(dir)
    .pipe(Effect.mapError((error) => new DumpReadError({ path: dir, message: error.message })))
  const bases = new Map<string, number>()
  for (const file of names) {
    const parsed = parseDumpName(file)
    if (parsed?.kind === "body") bases.set(parsed.base, parsed.sequence)
  }
  if (bases.size === 0) return yield* new NoDumps({ session, path: dir })
  const records: Array<DumpRecord> = []
  for (const [base, sequence] of bases) {
    const bodyPath = join(dir, `${base}.body.json`)
    const bytes = yield* fs
      .readFile(bodyPath)
      .pipe(Effect.mapError((error) => new DumpReadError({ path: bodyPath, message: error.message })))
    const metaText = yield* fs.readFileString(join(dir, `${base}.meta.json`)).pipe(Effect.orElseSucceed(() => ""))
    const meta = decodeMeta(parseJson(metaText))
    const m = meta._tag === "Some" ? meta.value : {}
    records.push({
      sequence: m.sequence ?? sequence,
      at: m.at ?? 0,
      bytes,
      ...(m.model === undefined ? {} : { model: m.model }),
      ...(m.status === undefined ? {} : { status: m.status }),
      ...(m.usage === undefined ? {} : { usage: m.usage }),
    })
  }
  return records.sort((a, b) => a.at - b.at || a.sequence - b.sequence)
})
