import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { Effect } from "effect"
import { codexBody, codexHeaders, parseSseText } from "../src/SimClient.ts"
import { type SimAccount, type SimRefresh, type SimRequest, Simulator } from "../src/Simulator.ts"
import { it } from "../src/Test.ts"

const MAIN = new URL("../src/main.ts", import.meta.url).pathname

let child: ReturnType<typeof Bun.spawn> | undefined
let url = ""

/** the first stdout line of the standalone process is its URL */
const readFirstLine = async (stream: ReadableStream<Uint8Array>): Promise<string> => {
  const reader = stream.getReader()
  const decoder = new TextDecoder()
  let text = ""
  while (!text.includes("\n")) {
    const next = await reader.read()
    if (next.done) break
    text += decoder.decode(next.value, { stream: true })
  }
  reader.releaseLock()
  return text.split("\n")[0] ?? ""
}

beforeAll(async () => {
  const proc = Bun.spawn(["bun", MAIN, "--port", "0", "--account", "acct_boot"], { stdout: "pipe", stderr: "inherit" })
  child = proc
  url = await readFirstLine(proc.stdout)
})
afterAll(async () => {
  child?.kill()
  await child?.exited
})

const admin = async (method: "GET" | "POST", name: string, body?: unknown) => {
  const res = await fetch(`${url}/__sim/${name}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: res.status, body: (await res.json()) as unknown }
}

describe("standalone process + admin API", () => {
  test("prints its URL and accepts --account", async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const accounts = (await admin("GET", "accounts")).body as Array<SimAccount>
    expect(accounts.map((a) => a.accountId)).toContain("acct_boot")
  })

  test("accounts, script, quota, requests, refreshes, next-login and reset over HTTP", async () => {
    const created = await admin("POST", "accounts", { accountId: "acct_x", plan: "pro" })
    expect(created.status).toBe(201)
    const acct = created.body as SimAccount
    expect(acct.tokens.access.split(".")).toHaveLength(3)

    expect(
      (await admin("POST", "script", { accountId: "acct_x", steps: [{ reply: { text: "scripted" } }] })).body,
    ).toEqual({
      queued: 1,
    })
    await admin("POST", "quota", { accountId: "acct_x", primaryUsedPercent: 55 })
    const res = await fetch(`${url}/backend-api/codex/responses`, {
      method: "POST",
      headers: codexHeaders(acct),
      body: JSON.stringify(codexBody()),
    })
    expect(res.headers.get("x-codex-primary-used-percent")).toBe("55")
    const done = parseSseText(await res.text()).find((e) => e.event === "response.output_text.done")
    expect(done?.json?.text).toBe("scripted")

    const requests = (await admin("GET", "requests")).body as Array<SimRequest>
    const last = requests.at(-1)
    expect(last?.accountId).toBe("acct_x")
    expect(last?.usage?.output_tokens).toBeGreaterThan(0)

    const refresh = await fetch(`${url}/oauth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        refresh_token: acct.tokens.refresh,
        client_id: "app_EMoamEEZ73f0CkXaXp7hrann",
      }).toString(),
    })
    expect(refresh.status).toBe(200)
    const refreshes = (await admin("GET", "refreshes")).body as Array<SimRefresh>
    expect(refreshes.map((r) => [r.accountId, r.outcome])).toEqual([["acct_x", "ok"]])

    await admin("POST", "next-login", { accountId: "acct_x" })
    await admin("POST", "device", { approveAfterPolls: 0, interval: "0" })
    const start = (await (
      await fetch(`${url}/api/accounts/deviceauth/usercode`, {
        method: "POST",
        body: JSON.stringify({ client_id: "app_EMoamEEZ73f0CkXaXp7hrann" }),
      })
    ).json()) as Record<string, string>
    expect(start.interval).toBe("0")
    const polled = await fetch(`${url}/api/accounts/deviceauth/token`, {
      method: "POST",
      body: JSON.stringify({ device_auth_id: start.device_auth_id, user_code: start.user_code }),
    })
    expect(polled.status).toBe(200)

    expect((await admin("POST", "script", { accountId: "nobody", step: { reply: {} } })).status).toBe(400)
    expect((await admin("GET", "nope")).status).toBe(404)

    await admin("POST", "reset")
    expect((await admin("GET", "requests")).body).toEqual([])
    expect((await admin("GET", "accounts")).body).toEqual([])
  })
})

describe("Simulator.layer", () => {
  let port = 0
  it.live("provides a running simulator for the scope", () =>
    Effect.gen(function* () {
      const sim = yield* Simulator
      port = sim.port
      const acct = sim.addAccount({ accountId: "acct_layer" })
      const status = yield* Effect.promise(() =>
        fetch(sim.usageEndpoint, { headers: codexHeaders(acct) }).then((r) => r.status),
      )
      expect(status).toBe(200)
    }).pipe(Effect.provide(Simulator.layer)),
  )
  test("stops it when the scope closes", async () => {
    expect(port).toBeGreaterThan(0)
    const outcome = await fetch(`http://127.0.0.1:${port}/__sim/requests`).then(
      () => "open",
      () => "closed",
    )
    expect(outcome).toBe("closed")
  })
})
