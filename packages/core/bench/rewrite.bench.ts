/**
 * The Codex request rewrite (decode + rewrite + stable serialization + UTF-8 encoding) against the least any
 * proxy must do with a JSON body: `JSON.parse` + `JSON.stringify`. Each sample repeats the work enough times
 * to be well above the timer's resolution; both sides run interleaved.
 */

import { prepareCodexRequest } from "@cortexkit/openai-auth-core/CodexRequest"
import { decodeHostRequestResult } from "@cortexkit/openai-auth-core/HostRequest"
import { atMost, type Bench, compare, figure } from "@cortexkit/openai-auth-testkit/Bench"
import { Redacted, Result } from "effect"
import { bodyOfSize, HOST_URL, hostHeaders } from "../test/fixtures/opencode.ts"

const ctx = {
  accessToken: Redacted.make("bench-access-token"),
  accountId: "acct_bench",
  settings: { codexApiEndpoint: "http://127.0.0.1:1/backend-api/codex/responses", webSearch: true },
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
  return { name: "rewrite", figures, notes }
}

export default bench
