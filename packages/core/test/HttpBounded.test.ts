/**
 * Bounded reads over real sockets: a server that never stops sending is cut off after the cap (its writes stop
 * because the client stopped reading), a server that accepts and says nothing times out as "stalled before the
 * first byte", and one that stops half-way through its body as "stalled" with how much came. The token, usage
 * and device endpoints all go through `Http`, so each of them gets the same bounds; the token client is checked
 * end to end.
 */
import { afterAll, describe, expect } from "bun:test"
import { createServer, type Server, type Socket } from "node:net"
import { testEffect } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Fiber, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import { DeviceFlow } from "../src/DeviceFlow.ts"
import { DEFAULT_MAX_BODY_BYTES, Http } from "../src/Http.ts"
import { TokenClient } from "../src/TokenClient.ts"

const servers: Array<Server> = []
afterAll(() => {
  for (const server of servers) server.close()
})

type Mode = "endless" | "silent" | "half-body"

/** a raw HTTP/1.1 server; `sent` counts the body bytes it managed to hand to the socket */
const rawServer = (mode: Mode) =>
  Effect.promise(
    () =>
      new Promise<{ url: string; sent: () => number; requests: () => number }>((resolve) => {
        let sent = 0
        let requests = 0
        const server = createServer((socket: Socket) => {
          socket.on("error", () => {})
          socket.once("data", () => {
            requests++
            if (mode === "silent") return
            if (mode === "half-body") {
              socket.write("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n")
              socket.write('{"access_token":"eyJ')
              sent += 20
              return
            }
            socket.write("HTTP/1.1 200 OK\r\ncontent-type: text/html\r\n\r\n")
            const chunk = Buffer.alloc(64 * 1024, 0x61)
            // writes only while the socket drains: what the client stops reading stops the server
            const pump = () => {
              while (!socket.destroyed && sent < 512 * 1024 * 1024) {
                sent += chunk.length
                if (!socket.write(chunk)) return void socket.once("drain", pump)
              }
            }
            pump()
          })
        })
        servers.push(server)
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          const port = typeof address === "object" && address !== null ? address.port : 0
          resolve({ url: `http://127.0.0.1:${port}`, sent: () => sent, requests: () => requests })
        })
      }),
  )

const it = testEffect(Layer.mergeAll(Http.layer, TokenClient.layer, DeviceFlow.layer))

/** waits (on real I/O, not the test clock) until the server has seen the request */
const untilRequested = (server: { requests: () => number }) =>
  Effect.promise(async () => {
    for (let i = 0; i < 10_000 && server.requests() === 0; i++) await new Promise((r) => setImmediate(r))
  })

describe("Http reads are bounded", () => {
  it.live("an endless answer is cut off after the cap; the server is stopped by back-pressure, not drained", () =>
    Effect.gen(function* () {
      const server = yield* rawServer("endless")
      const http = yield* Http
      const error = yield* Effect.flip(http.get(server.url))
      expect(error.message).toContain(`larger than ${DEFAULT_MAX_BODY_BYTES / 1024 / 1024}.0 MiB`)
      expect(error.timedOut).toBe(false)
      // the socket buffers hold a few MiB at most; 512 MiB would have been sent to a client that read it all
      expect(server.sent()).toBeLessThan(64 * 1024 * 1024)
    }),
  )

  it.live("the token endpoint's answer is capped the same way, and the failure is transient", () =>
    Effect.gen(function* () {
      const server = yield* rawServer("endless")
      const tokens = yield* TokenClient
      const error = yield* Effect.flip(tokens.refresh(Redacted.make("rt_kept"), { issuer: server.url }))
      expect(error._tag).toBe("RefreshTransient")
      expect(error.message).toContain("larger than")
    }),
  )

  it.live("the device endpoint's answer is capped too", () =>
    Effect.gen(function* () {
      const server = yield* rawServer("endless")
      const error = yield* Effect.flip((yield* DeviceFlow).start({ issuer: server.url }))
      expect(error._tag).toBe("DeviceAuthFailed")
      expect(error.message).toContain("larger than")
      expect(server.sent()).toBeLessThan(64 * 1024 * 1024)
    }),
  )

  it.effect("a server that accepts and says nothing: 'stalled before the first byte', not a connect error", () =>
    Effect.gen(function* () {
      const server = yield* rawServer("silent")
      const http = yield* Http
      const fiber = yield* Effect.forkChild(Effect.flip(http.get(server.url, { timeout: "30 seconds" })))
      yield* untilRequested(server)
      yield* TestClock.adjust("30 seconds")
      const error = yield* Fiber.join(fiber)
      expect(error.timedOut).toBe(true)
      expect(error.message).toBe("no answer within 30000 ms (stalled before the first byte)")
      expect(error.message).not.toContain("connect")
    }),
  )

  // the real clock: the head must have reached the client before the deadline, which only real I/O can tell
  it.live("a body that stops half-way: 'stalled' with how much came", () =>
    Effect.gen(function* () {
      const server = yield* rawServer("half-body")
      const http = yield* Http
      const error = yield* Effect.flip(http.get(server.url, { timeout: "3 seconds" }))
      expect(error.timedOut).toBe(true)
      expect(error.message).toMatch(/^the answer stalled: \d+ bytes of its body in 3000 ms, then nothing$/)
    }),
  )
})
