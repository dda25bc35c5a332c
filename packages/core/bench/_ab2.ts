import * as NewReq from "@cortexkit/openai-auth-core/CodexRequest"
import * as NewMemo from "@cortexkit/openai-auth-core/HostBodyMemo"
import * as NewHost from "@cortexkit/openai-auth-core/HostRequest"
import { compare } from "@cortexkit/openai-auth-testkit/Bench"
import { Redacted, Result } from "effect"
import { Redacted as OldRedacted } from "/tmp/wire-base/packages/core/node_modules/effect/dist/index.js"
import * as OldReq from "/tmp/wire-base/packages/core/src/CodexRequest.ts"
import * as OldMemo from "/tmp/wire-base/packages/core/src/HostBodyMemo.ts"
import * as OldHost from "/tmp/wire-base/packages/core/src/HostRequest.ts"
import { bodyOfSize, HOST_URL, hostHeaders, turnOfSize, userMessage } from "../test/fixtures/opencode.ts"

const ctxNew = {
  accessToken: Redacted.make("t"),
  accountId: "a",
  settings: { codexApiEndpoint: "http://x", webSearch: true },
}
const ctxOld = {
  accessToken: OldRedacted.make("t"),
  accountId: "a",
  settings: { codexApiEndpoint: "http://x", webSearch: true },
}
const headers = hostHeaders()
const run = (Host: any, Req: any, memo: any, text: string) => {
  const h = Host.decodeHostRequestResult({ url: HOST_URL, method: "POST", headers, body: text }, memo)
  if (Result.isFailure(h)) throw h.failure
  return Req.prepareCodexRequest(h.success, Req === OldReq ? ctxOld : ctxNew)
}
const rep = (n: number, f: () => unknown) => () => {
  for (let i = 0; i < n; i++) f()
}
const nextTurns = (size: number) => {
  const base = turnOfSize(size)
  return Array.from({ length: 16 }, (_, i) =>
    JSON.stringify({ ...base, input: [...(base.input as Array<unknown>), userMessage(`Next step ${i}.`)] }),
  )
}
const small = bodyOfSize(10_000),
  mid = bodyOfSize(100_000)
const t100 = nextTurns(100_000),
  t1m = nextTurns(1_000_000)
const results: Record<string, number[]> = {}
const add = (k: string, v: number) => {
  ;(results[k] ??= []).push(v)
}
for (let round = 0; round < 5; round++) {
  add(
    "10kb",
    (
      await compare(
        rep(50, () => run(OldHost, OldReq, undefined, small)),
        rep(50, () => run(NewHost, NewReq, undefined, small)),
        { samples: 200 },
      )
    ).ratio,
  )
  add(
    "100kb cold",
    (
      await compare(
        () => run(OldHost, OldReq, new OldMemo.HostBodyMemo(), mid),
        () => run(NewHost, NewReq, new NewMemo.HostBodyMemo(), mid),
        { samples: 150 },
      )
    ).ratio,
  )
  for (const [name, turns] of [
    ["100kb next", t100],
    ["1mb next", t1m],
  ] as const) {
    const om = new OldMemo.HostBodyMemo(),
      nm = new NewMemo.HostBodyMemo()
    let i = 0,
      j = 0
    add(
      name,
      (
        await compare(
          () => run(OldHost, OldReq, om, turns[i++ % 16]!),
          () => run(NewHost, NewReq, nm, turns[j++ % 16]!),
          { samples: 150 },
        )
      ).ratio,
    )
  }
}
for (const [k, v] of Object.entries(results)) {
  const s = [...v].sort((a, b) => a - b)
  console.log(
    k.padEnd(12),
    "new/old median",
    s[Math.floor(s.length / 2)]!.toFixed(2),
    "runs",
    v.map((x) => x.toFixed(2)).join(" "),
  )
}
