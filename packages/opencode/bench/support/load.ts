/**
 * Concurrent load for the scale bench: `sessions` concurrent sessions, each sending `perSession` requests one
 * after the other, through the plugin fetch or bare (pre-rewritten, round-robin over the accounts). Used in
 * the bench process and in each worker process (`scaleWorker.ts`).
 */
import type { SimAccount } from "@cortexkit/openai-auth-testkit/Simulator"
import { type Bodies, bodies, type PluginFetch, sessionKey, timeRequest } from "./plugin.ts"

export interface LoadResult {
  /** first-byte times, ms */
  readonly firstBytes: Array<number>
  readonly wallMs: number
  readonly requests: number
}

export const runLoad = async (options: {
  readonly mode: "bare" | "plugin"
  readonly fetch?: PluginFetch
  readonly accounts: ReadonlyArray<SimAccount>
  readonly codexEndpoint: string
  readonly sessions: number
  readonly perSession: number
  /** distinguishes the session keys of several processes */
  readonly tag: number
}): Promise<LoadResult> => {
  const size = 10_000
  const perAccount: Array<Bodies> = options.accounts.map((a) => bodies(size, a, options.codexEndpoint))
  const firstBytes: Array<number> = []
  const start = performance.now()
  await Promise.all(
    Array.from({ length: options.sessions }, async (_, s) => {
      const key = sessionKey(options.tag * 100_000 + s)
      const b = perAccount[s % perAccount.length] as Bodies
      for (let i = 0; i < options.perSession; i++) {
        const timing =
          options.mode === "plugin"
            ? await timeRequest(() => {
                const host = b.host(key)
                return (options.fetch as PluginFetch)("https://api.openai.com/v1/responses", {
                  method: "POST",
                  headers: host.headers,
                  body: host.body,
                })
              })
            : await timeRequest(() => {
                const wire = b.bare(key)
                return fetch(options.codexEndpoint, { method: "POST", headers: wire.headers, body: wire.body })
              })
        firstBytes.push(timing.firstByte)
      }
    }),
  )
  return { firstBytes, wallMs: performance.now() - start, requests: options.sessions * options.perSession }
}
