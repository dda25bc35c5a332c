import { prepareCodexRequest } from "@cortexkit/openai-auth-core/CodexRequest"
import { HostBodyMemo } from "@cortexkit/openai-auth-core/HostBodyMemo"
import { decodeHostRequestResult } from "@cortexkit/openai-auth-core/HostRequest"
import { Redacted, Result } from "effect"
import { bodyOfSize, HOST_URL, hostHeaders } from "../test/fixtures/opencode.ts"

const ctx = {
  accessToken: Redacted.make("t"),
  accountId: "a",
  settings: { codexApiEndpoint: "http://x", webSearch: true },
}
const headers = hostHeaders()
const mid = bodyOfSize(100_000)
for (let i = 0; i < 6000; i++) {
  const h = decodeHostRequestResult({ url: HOST_URL, method: "POST", headers, body: mid }, new HostBodyMemo())
  if (Result.isSuccess(h)) prepareCodexRequest(h.success, ctx)
}
