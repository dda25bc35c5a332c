/**
 * Runs under real Node (bundled by RawNode.test.ts): the raw client over node:net/node:tls against servers the
 * Bun test started, printing one JSON line of results for the test to assert.
 */
import { defaultImplementation } from "../../src/RawSocket.ts"
import { makeRawConnector } from "../../src/RawWebSocket.ts"
import type { WsConnection } from "../../src/WsConnection.ts"

interface Args {
  readonly echoUrl: string
  readonly fragmentUrl: string
  readonly tlsUrl?: string
  readonly ca?: string
}

const args = JSON.parse(process.argv[2] ?? "{}") as Args

const firstMessage = (conn: WsConnection) => new Promise<string>((resolve) => conn.onMessage(resolve))
const closed = (conn: WsConnection) =>
  new Promise<{ code: number; reason: string }>((resolve) => conn.onClose((code, reason) => resolve({ code, reason })))

const main = async () => {
  const out: Record<string, unknown> = {
    runtime: typeof (globalThis as { Bun?: unknown }).Bun === "undefined" ? `node ${process.version}` : "bun",
    implementation: defaultImplementation(),
  }
  const connect = makeRawConnector({ closeTimeoutMs: 2000 })

  const echo = await connect(args.echoUrl, { "x-test": "node" }, { connectTimeoutMs: 3000 })
  const echoed = firstMessage(echo)
  echo.send("héllo from node")
  out.echo = await echoed
  const echoClosed = closed(echo)
  echo.close(1000, "bye")
  out.echoClose = await echoClosed

  const frag = await connect(args.fragmentUrl, {}, { connectTimeoutMs: 3000 })
  out.fragment = await firstMessage(frag)
  out.fragmentClose = await closed(frag)

  if (args.tlsUrl !== undefined && args.ca !== undefined) {
    const secure = await makeRawConnector({ tls: { ca: args.ca } })(args.tlsUrl, {}, { connectTimeoutMs: 3000 })
    const reply = firstMessage(secure)
    secure.send("secure from node")
    out.tls = await reply
    secure.close()
    try {
      await makeRawConnector()(args.tlsUrl, {}, { connectTimeoutMs: 3000 })
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
