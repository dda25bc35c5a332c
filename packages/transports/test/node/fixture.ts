/**
 * Runs under real Node (bundled by RawNode.test.ts): the raw client over node:net/node:tls against servers the
 * Bun test started, printing one JSON line of results for the test to assert.
 */
import { Effect, Scope } from "effect"
import type { RawConnection } from "../../src/RawConnection.ts"
import { defaultImplementation } from "../../src/RawSocket.ts"
import { makeRawConnector, type RawWebSocketOptions } from "../../src/RawWebSocket.ts"
import type { WsConnection } from "../../src/WsConnection.ts"

interface Args {
  readonly echoUrl: string
  readonly fragmentUrl: string
  /** answers the upgrade with two messages and a bad frame in the same segment */
  readonly segmentUrl: string
  /** answers the upgrade with a close frame in the same segment */
  readonly closeUrl: string
  readonly tlsUrl?: string
  readonly ca?: string
}

const args = JSON.parse(process.argv[2] ?? "{}") as Args
const scope = Scope.makeUnsafe()
const connector =
  (options: RawWebSocketOptions = {}) =>
  (url: string, headers: Record<string, string> = {}) =>
    Effect.runPromise(Scope.provide(scope)(makeRawConnector(options)(url, headers)))

const firstMessage = (conn: WsConnection) => new Promise<string>((resolve) => conn.onMessage(resolve))
const closed = (conn: WsConnection) =>
  new Promise<{ code: number; reason: string }>((resolve) => conn.onClose((code, reason) => resolve({ code, reason })))

const main = async () => {
  const out: Record<string, unknown> = {
    runtime: typeof (globalThis as { Bun?: unknown }).Bun === "undefined" ? `node ${process.version}` : "bun",
    implementation: defaultImplementation(),
  }
  const connect = connector({ closeTimeoutMs: 2000 })

  const echo = await connect(args.echoUrl, { "x-test": "node" })
  const echoed = firstMessage(echo)
  echo.send("héllo from node")
  out.echo = await echoed
  const echoClosed = closed(echo)
  echo.close(1000, "bye")
  out.echoClose = await echoClosed

  const frag = await connect(args.fragmentUrl)
  out.fragment = await firstMessage(frag)
  out.fragmentClose = await closed(frag)

  // the close listener first: the messages before the failure still come first
  const segment = await connect(args.segmentUrl)
  const events: Array<string> = []
  const segmentClosed = new Promise<void>((resolve) =>
    segment.onClose((code) => {
      events.push(`close ${code}`)
      resolve()
    }),
  )
  segment.onMessage((text) => events.push(text))
  await segmentClosed
  out.segment = events

  // a close timeout longer than the test's: only the socket's own close can end this in time
  const early = await connector({ closeTimeoutMs: 600_000 })(args.closeUrl)
  early.onMessage(() => {})
  out.early = await closed(early)
  await Effect.runPromise((early as RawConnection).whenGone)
  out.earlyGone = true

  if (args.tlsUrl !== undefined && args.ca !== undefined) {
    const secure = await connector({ tls: { ca: args.ca } })(args.tlsUrl)
    const reply = firstMessage(secure)
    secure.send("secure from node")
    out.tls = await reply
    secure.close()
    try {
      await connector()(args.tlsUrl)
      out.untrusted = "connected"
    } catch (error) {
      out.untrusted = error instanceof Error ? error.message : String(error)
    }
  }
  process.stdout.write(`${JSON.stringify(out)}\n`)
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stdout.write(`${JSON.stringify({ crashed: error instanceof Error ? error.stack : String(error) })}\n`)
    process.exit(1)
  },
)
