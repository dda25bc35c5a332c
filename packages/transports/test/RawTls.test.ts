import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import type { RawSocketImplementation } from "../src/RawSocket.ts"
import { makeRawConnector } from "../src/RawWebSocket.ts"
import { makeSelfSigned, type Pem } from "./node/cert.ts"
import { echoScript, startTlsServer, type TestServer } from "./node/hostile.ts"
import { connections } from "./support/Connections.ts"

const pem: Pem | undefined = makeSelfSigned()
let server: TestServer

beforeAll(async () => {
  if (pem !== undefined) server = await startTlsServer(pem, echoScript)
})
afterAll(() => server?.close())
const open = connections()

const echoOnce = async (
  implementation: RawSocketImplementation,
  tls: { ca?: string; rejectUnauthorized?: boolean },
): Promise<string> => {
  const conn = await open(makeRawConnector({ implementation, tls }), server.url)
  const reply = new Promise<string>((resolve) => conn.onMessage(resolve))
  conn.send("secure hello")
  const text = await reply
  const closed = new Promise<number>((resolve) => conn.onClose((code) => resolve(code)))
  conn.close()
  expect(await closed).toBe(1000)
  return text
}

describe.each(["bun", "node"] as Array<RawSocketImplementation>)("wss over %s sockets", (implementation) => {
  test.skipIf(pem === undefined)("trusting the self-signed certificate via `ca` works end to end", async () => {
    expect(await echoOnce(implementation, { ca: (pem as Pem).cert })).toBe("secure hello")
  })

  test.skipIf(pem === undefined)("an untrusted certificate is refused with a TLS error", async () => {
    await expect(open(makeRawConnector({ implementation }), server.url)).rejects.toThrow(
      /TLS|certificate|self[- ]signed/i,
    )
  })

  test.skipIf(pem === undefined)("rejectUnauthorized: false accepts it", async () => {
    expect(await echoOnce(implementation, { rejectUnauthorized: false })).toBe("secure hello")
  })
})
