/**
 * The Codex request rewrite (decode + rewrite + stable serialization; the runtime's `fetch` encodes the text)
 * against the least any proxy must do with a JSON body: `JSON.parse` + `JSON.stringify`. Each sample repeats the work enough times
 * to be well above the timer's resolution; both sides run interleaved. The 10 KB body is decoded through a
 * `HostBodyMemo` as the plugin does (it parses small bodies plainly; it keeps the session's turn metadata,
 * which the requests of one tool loop share), and once more with every request a new user turn (nothing
 * shared). The 1 MB body is decoded without one (nothing reused). A session's next turn: the same
 * conversation with one new message, through the memo; a cold 100 KB body: a new conversation each time.
 */

import { prepareCodexRequest } from "@cortexkit/openai-auth-core/CodexRequest"
import { HostBodyMemo } from "@cortexkit/openai-auth-core/HostBodyMemo"
import { decodeHostRequestResult } from "@cortexkit/openai-auth-core/HostRequest"
import { atMost, type Bench, compare, figure } from "@cortexkit/openai-auth-testkit/Bench"
import { Redacted, Result } from "effect"
import { bodyOfSize, HOST_URL, hostHeaders, turnOfSize, userMessage } from "../test/fixtures/opencode.ts"

const ctx = {
  accessToken: Redacted.make("bench-access-token"),
  accountId: "acct_bench",
  settings: { codexApiEndpoint: "http://127.0.0.1:1/backend-api/codex/responses", webSearch: true },
  identity: { originator: "opencode", userAgent: "opencode/1.18.33" },
}

const repeat = (times: number, fn: () => unknown) => () => {
  let sink: unknown
  for (let i = 0; i < times; i++) sink = fn()
  return sink
}

const prepareVia = (text: string, memo: HostBodyMemo) => {
  const host = decodeHostRequestResult({ url: HOST_URL, method: "POST", headers: hostHeaders(), body: text }, memo)
  if (Result.isFailure(host)) throw host.failure
  return prepareCodexRequest(host.success, ctx)
}

/** Both sides repeated 100 times a sample (a 10 KB body is too quick to time alone). */
const compareRepeated = (baseline: () => unknown, candidate: () => unknown) => ({
  baseline: repeat(100, baseline),
  candidate: repeat(100, candidate),
})

const bench: Bench = async () => {
  const headers = hostHeaders()
  const cases = [
    { key: "10kb", label: "10 KB", text: bodyOfSize(10_000), repeat: 100, samples: 400 },
    { key: "1mb", label: "1 MB", text: bodyOfSize(1_000_000), repeat: 1, samples: 80 },
  ]
  const figures = []
  const notes: Array<string> = []
  for (const c of cases) {
    const memo = c.key === "10kb" ? new HostBodyMemo() : undefined
    const baseline = repeat(c.repeat, () => JSON.stringify(JSON.parse(c.text)))
    const rewrite = repeat(c.repeat, () => {
      const host = decodeHostRequestResult({ url: HOST_URL, method: "POST", headers, body: c.text }, memo)
      if (Result.isFailure(host)) throw host.failure
      return prepareCodexRequest(host.success, ctx)
    })
    const result = await compare(baseline, rewrite, { samples: c.samples })
    figures.push(
      figure(`rewrite_${c.key}_ms`, `rewrite ${c.label} (median, per body)`, result.candidate / c.repeat, "ms"),
      figure(`baseline_${c.key}_ms`, `parse+stringify ${c.label} (median)`, result.baseline / c.repeat, "ms"),
      figure(`rewrite_${c.key}_ratio`, `rewrite / parse+stringify, ${c.label}`, result.ratio, "x", atMost(1.5)),
    )
    notes.push(`${c.label} body: ${c.text.length} bytes`)
  }
  // 10 KB, every request a new user turn of the session: no turn metadata to share
  const small = turnOfSize(10_000)
  const newTurns = Array.from({ length: 64 }, (_, i) =>
    JSON.stringify({ ...small, input: [...(small.input as Array<unknown>), userMessage(`Next step ${i}.`)] }),
  )
  const turnsMemo = new HostBodyMemo()
  let fresh = 0
  let freshPlain = 0
  const newTurn = compareRepeated(
    () => JSON.stringify(JSON.parse(newTurns[freshPlain++ % newTurns.length] as string)),
    () => prepareVia(newTurns[fresh++ % newTurns.length] as string, turnsMemo),
  )
  const turnResult = await compare(newTurn.baseline, newTurn.candidate, { samples: 300 })
  figures.push(
    figure(
      "rewrite_10kb_new_turn_ratio",
      "rewrite / parse+stringify, 10 KB, each a new user turn",
      turnResult.ratio,
      "x",
    ),
  )
  // a cold 100 KB body: a conversation the memo never saw (each one its own first message)
  const hundred = turnOfSize(100_000)
  const colds = Array.from({ length: 32 }, (_, i) =>
    JSON.stringify({ ...hundred, input: [userMessage(`Cold start ${i}.`), ...(hundred.input as Array<unknown>)] }),
  )
  let cold = 0
  let coldPlain = 0
  const coldResult = await compare(
    () => JSON.stringify(JSON.parse(colds[coldPlain++ % colds.length] as string)),
    () => prepareVia(colds[cold++ % colds.length] as string, new HostBodyMemo()),
    { samples: 120 },
  )
  figures.push(
    figure(
      "rewrite_cold_100kb_ms",
      "rewrite 100 KB, a conversation the memo never saw (median)",
      coldResult.candidate,
      "ms",
    ),
    figure("rewrite_cold_100kb_ratio", "cold rewrite / parse+stringify, 100 KB", coldResult.ratio, "x"),
  )
  // the next turn of a 1 MB conversation: what the plugin does on every turn after a session's first
  const base = turnOfSize(1_000_000)
  const turns = Array.from({ length: 16 }, (_, i) =>
    JSON.stringify({ ...base, input: [...(base.input as Array<unknown>), userMessage(`Next step ${i}.`)] }),
  )
  const memo = new HostBodyMemo()
  let turn = 0
  const nextTurn = () => {
    const text = turns[turn++ % turns.length] as string
    const host = decodeHostRequestResult({ url: HOST_URL, method: "POST", headers, body: text }, memo)
    if (Result.isFailure(host)) throw host.failure
    return prepareCodexRequest(host.success, ctx)
  }
  let plain = 0
  const parseStringify = () => JSON.stringify(JSON.parse(turns[plain++ % turns.length] as string))
  const next = await compare(parseStringify, nextTurn, { samples: 120 })
  figures.push(
    figure("rewrite_next_turn_1mb_ms", "rewrite 1 MB, next turn through the body memo (median)", next.candidate, "ms"),
    figure("rewrite_next_turn_1mb_ratio", "next-turn rewrite / parse+stringify, 1 MB", next.ratio, "x"),
  )
  notes.push(`next turn: ${memo.hits} of ${turn} bodies reused the previous turn's items`)
  return { name: "rewrite", figures, notes }
}

export default bench
