/**
 * What the WebSocket transport is for: a 40-turn tool-using session through the plugin (support/chainSession.ts)
 * over HTTP, the native WebSocket and the raw client, with the simulator counting the bytes it receives and
 * the chained turns (`previous_response_id` with only the new items).
 *
 * - Chained share: of the turns after the first, those the simulator received chained. The backend keeps the
 *   previous response on the connection only, so the first turn on a fresh socket is always a full request;
 *   the session is also run with a fallback to another account (a usage limit at turn 20) and with the
 *   socket dropped mid-stream at turn 20 (the host sends the turn again), where chaining must resume on the
 *   new socket.
 * - Upload: every byte of every Codex request body / `response.create` frame the simulator received, the
 *   WebSocket session against the HTTP session.
 * - Added time to the first output (`response.output_item.added`) per turn: WebSocket minus HTTP at the same
 *   turn of sessions run one after another (rounds in alternating order), median over the turns after the
 *   first; the first turn (which opens the socket) apart.
 */
import { atLeast, atMost, type Bench, figure, median } from "@cortexkit/openai-auth-testkit/Bench"
import { type ChainEvent, type ChainResult, runChainSession } from "./support/chainSession.ts"

const TURNS = 40
const EVENT_AT = 20
const ROUNDS = 4

const TRANSPORTS = {
  http: {},
  native: { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1" },
  raw: { CORTEXKIT_OPENAI_AUTH_WEBSOCKETS: "1", CORTEXKIT_OPENAI_AUTH_RAW_WS: "1" },
} as const
type Transport = keyof typeof TRANSPORTS

const chainedShare = (r: ChainResult) => r.turns.slice(1).filter((t) => t.chained).length / (r.turns.length - 1)

const pattern = (r: ChainResult) => r.turns.map((t) => (t.transport === "http" ? "h" : t.chained ? "c" : "F")).join("")

const bench: Bench = async () => {
  const plain: Record<Transport, Array<ChainResult>> = { http: [], native: [], raw: [] }
  const order: Array<Transport> = ["http", "native", "raw"]
  for (let round = 0; round < ROUNDS; round++) {
    for (const t of round % 2 === 0 ? order : [...order].reverse()) {
      plain[t].push(await runChainSession(TURNS, TRANSPORTS[t], "none", EVENT_AT))
    }
  }
  const events: Record<Exclude<ChainEvent, "none">, Record<Transport, ChainResult>> = {
    fallback: {
      http: await runChainSession(TURNS, TRANSPORTS.http, "fallback", EVENT_AT),
      native: await runChainSession(TURNS, TRANSPORTS.native, "fallback", EVENT_AT),
      raw: await runChainSession(TURNS, TRANSPORTS.raw, "fallback", EVENT_AT),
    },
    drop: {
      http: await runChainSession(TURNS, TRANSPORTS.http, "drop", EVENT_AT),
      native: await runChainSession(TURNS, TRANSPORTS.native, "drop", EVENT_AT),
      raw: await runChainSession(TURNS, TRANSPORTS.raw, "drop", EVENT_AT),
    },
  }
  const http = plain.http[0] as ChainResult
  const figures = [
    figure("http_upload_kb", "HTTP: bytes uploaded per 40-turn session", http.uploadBytes / 1000, "KB"),
    figure(
      "http_chained_share",
      "HTTP: chained share of turns after the first (none possible)",
      chainedShare(http),
      "share",
    ),
  ]
  const notes: Array<string> = [
    `turn patterns (c chained, F full over a socket, h HTTP); fallback at turn ${EVENT_AT + 1}, drop at turn ${EVENT_AT + 1}`,
  ]
  for (const t of ["native", "raw"] as const) {
    const runs = plain[t]
    const first = runs[0] as ChainResult
    const perTurn: Array<number> = []
    const firstTurn: Array<number> = []
    for (const [round, run] of runs.entries()) {
      const base = plain.http[round] as ChainResult
      for (const [i, turn] of run.turns.entries()) {
        const d = turn.firstOutput - (base.turns[i]?.firstOutput ?? Number.NaN)
        if (i === 0) firstTurn.push(d)
        else perTurn.push(d)
      }
    }
    const fields = median(first.turns.filter((x) => x.chained).map((x) => x.fieldBytes))
    figures.push(
      figure(
        `${t}_chained_share`,
        `${t}: chained share of turns after the first`,
        Math.min(...runs.map(chainedShare)),
        "share",
        atLeast(0.95),
      ),
      figure(
        `${t}_chained_share_fallback`,
        `${t}: the same, fallback to another account at turn ${EVENT_AT + 1}`,
        chainedShare(events.fallback[t]),
        "share",
        atLeast(0.95),
      ),
      figure(
        `${t}_chained_share_drop`,
        `${t}: the same, socket dropped mid-stream at turn ${EVENT_AT + 1}`,
        chainedShare(events.drop[t]),
        "share",
        atLeast(0.95),
      ),
      figure(`${t}_upload_kb`, `${t}: bytes uploaded per session`, first.uploadBytes / 1000, "KB"),
      figure(
        `${t}_upload_ratio`,
        `${t}: upload per session / HTTP's`,
        first.uploadBytes / http.uploadBytes,
        "x",
        atMost(0.2),
      ),
      figure(
        `${t}_upload_ratio_fallback`,
        `${t}: the same with the fallback`,
        events.fallback[t].uploadBytes / events.fallback.http.uploadBytes,
        "x",
      ),
      figure(
        `${t}_upload_ratio_drop`,
        `${t}: the same with the drop`,
        events.drop[t].uploadBytes / events.drop.http.uploadBytes,
        "x",
      ),
      figure(`${t}_field_bytes`, `${t}: bytes of a chained request outside its input (median)`, fields, "B"),
      figure(
        `${t}_first_output_added_ms`,
        `${t}: added time to first output per turn vs HTTP, turns 2-${TURNS} (median)`,
        median(perTurn),
        "ms",
      ),
      figure(
        `${t}_first_output_added_first_turn_ms`,
        `${t}: the same, first turn (opens the socket; median of ${ROUNDS})`,
        median(firstTurn),
        "ms",
      ),
    )
    notes.push(
      `${t}: plain ${pattern(first)}; fallback ${pattern(events.fallback[t])}; drop ${pattern(events.drop[t])} (host resent ${events.drop[t].hostRetries})`,
    )
  }
  const chainedFields = median((plain.native[0] as ChainResult).turns.filter((x) => x.chained).map((x) => x.fieldBytes))
  notes.push(
    `the fields every request repeats (instructions, tools, ...: ${Math.round(chainedFields)} B) x ${TURNS} turns = ${Math.round((chainedFields * TURNS) / 1000)} KB of the WebSocket session's upload`,
  )
  return { name: "ws-chain", figures, notes }
}

export default bench
