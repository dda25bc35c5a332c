/**
 * The Codex request rewrite (decode + rewrite + stable serialization; the runtime's `fetch` encodes the text)
 * against the least any proxy must do with a JSON body: `JSON.parse` + `JSON.stringify`. Each sample repeats the work enough times
 * to be well above the timer's resolution; both sides run interleaved. A third case is a session's next
 * turn: the same conversation with one new message, decoded through the plugin's `HostBodyMemo`.
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

const bench: Bench = async () => {
  const headers = hostHeaders()
  const cases = [
    { key: "10kb", label: "10 KB", text: bodyOfSize(10_000), repeat: 100, samples: 400 },
    { key: "1mb", label: "1 MB", text: bodyOfSize(1_000_000), repeat: 1, samples: 80 },
  ]
  const figures = []
  const notes: Array<string> = []
  for (const c of cases) {
    const baseline = repeat(c.repeat, () => JSON.stringify(JSON.parse(c.text)))
    const rewrite = repeat(c.repeat, () => {
      const host = decodeHostRequestResult({ url: HOST_URL, method: "POST", headers, body: c.text })
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
