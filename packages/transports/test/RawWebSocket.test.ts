import { describe, expect, test } from "bun:test"
import { it } from "@cortexkit/openai-auth-testkit/Test"
import { Effect, Exit, Fiber } from "effect"
import { TestClock } from "effect/testing"
import type { RawConnection } from "../src/RawConnection.ts"
import type { RawSocketImplementation } from "../src/RawSocket.ts"
import { makeRawConnector, type RawWebSocketOptions } from "../src/RawWebSocket.ts"
import { UpgradeRejected, type WsConnection } from "../src/WsConnection.ts"
import { closePayload, echoScript, frame, type Peer, startServer, upgradeResponse } from "./node/hostile.ts"
import { connections } from "./support/Connections.ts"
import { crossDeadline, makeSleepProbe, withProbe } from "./support/SleepProbe.ts"

interface Recorder {
  readonly messages: Array<string>
  readonly closed: Promise<{ code: number; reason: string }>
  readonly next: () => Promise<string>
}

const record = (conn: WsConnection): Recorder => {
  const messages: Array<string> = []
  const waiters: Array<() => void> = []
  let seen = 0
  conn.onMessage((text) => {
    messages.push(text)
    for (const w of waiters.splice(0)) w()
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    conn.onClose((code, reason) => resolve({ code, reason })),
  )
  const next = () =>
    new Promise<string>((resolve) => {
      const attempt = () => {
        if (seen < messages.length) resolve(messages[seen++] as string)
        else waiters.push(attempt)
      }
      attempt()
    })
  return { messages, closed, next }
}

/** Writes `bytes` one byte per write, each in its own tick, so the client really sees 1-byte chunks. */
const dribble = async (peer: Peer, bytes: Uint8Array): Promise<void> => {
  for (const byte of bytes) {
    if (peer.socket.destroyed) return
    await new Promise<void>((resolve) => peer.socket.write(Uint8Array.of(byte), () => resolve()))
  }
}

const withServer = async <A>(script: (peer: Peer) => void | Promise<void>, body: (url: string) => Promise<A>) => {
  const server = await startServer(script)
  const result = await body(server.url).finally(() => server.close())
  // an assertion inside a server script fails the test that owns the server
  if (server.errors.length > 0) throw server.errors[0]
  return result
}

const open = connections()

const connectorFor = (options: RawWebSocketOptions) => {
  const connector = makeRawConnector(options)
  return (url: string, headers: Record<string, string> = {}) => open(connector, url, headers)
}

/** A server the test drives from its Effect: `started` runs the script, `close` ends it. */
const serve = (script: (peer: Peer) => void | Promise<void>) =>
  Effect.acquireRelease(
    Effect.promise(() => startServer(script)),
    (server) => Effect.promise(() => server.close()),
  )

/** Waits (in an Effect) for the connection's close report. */
const closedOf = (conn: WsConnection) =>
  Effect.callback<{ code: number; reason: string }>((resume) =>
    conn.onClose((code, reason) => resume(Effect.succeed({ code, reason }))),
  )

describe.each(["bun", "node"] as Array<RawSocketImplementation>)("raw WebSocket over %s sockets", (implementation) => {
  const connect = connectorFor({ implementation })

  test("handshake sends the RFC headers plus the caller's, exposes the response headers, echoes text", () =>
    withServer(
      (peer) => {
        expect(peer.request.head.startsWith("GET /backend-api/codex/responses HTTP/1.1\r\n")).toBe(true)
        expect(peer.request.headers.upgrade).toBe("websocket")
        expect(peer.request.headers.connection).toBe("Upgrade")
        expect(peer.request.headers["sec-websocket-version"]).toBe("13")
        expect(Buffer.from(peer.request.key, "base64").length).toBe(16)
        expect(peer.request.headers.authorization).toBe("Bearer t")
        expect(peer.request.headers.host).toMatch(/^127\.0\.0\.1:\d+$/)
        peer.accept("x-codex-turn-state: ts1\r\n")
        echoScript({ ...peer, accept: () => {} })
      },
      async (url) => {
        const conn = await connect(url, { authorization: "Bearer t", "openai-beta": "responses_websockets=2026-02-06" })
        expect(conn.status).toBe(101)
        expect(conn.headers["x-codex-turn-state"]).toBe("ts1")
        const rec = record(conn)
        const big = "é".repeat(40_000)
        conn.send("hello")
        conn.send(big)
        expect(await rec.next()).toBe("hello")
        expect(await rec.next()).toBe(big)
        conn.close(1000, "done")
        expect(await rec.closed).toEqual({ code: 1000, reason: "done" })
      },
    ))

  test("handshake and first frames split into 1-byte chunks", () =>
    withServer(
      (peer) =>
        dribble(
          peer,
          Buffer.concat([
            Buffer.from(upgradeResponse(peer.request.key)),
            frame(1, '{"type":"response.created"}'),
            frame(1, "x".repeat(300)),
          ]),
        ),
      async (url) => {
        const rec = record(await connect(url))
        expect(await rec.next()).toBe('{"type":"response.created"}')
        expect(await rec.next()).toBe("x".repeat(300))
      },
    ))

  test("a wrong Sec-WebSocket-Accept is refused", () =>
    withServer(
      (peer) => {
        peer.socket.write(
          "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: AAAA\r\n\r\n",
        )
      },
      async (url) => {
        await expect(connect(url)).rejects.toThrow(/Sec-WebSocket-Accept does not match/)
      },
    ))

  test("a 429 refusal reaches the caller as UpgradeRejected with the JSON body intact", () => {
    const body = JSON.stringify({
      error: { type: "usage_limit_reached", message: "The usage limit has been reached", resets_at: 1767225600 },
    })
    return withServer(
      (peer) =>
        dribble(
          peer,
          Buffer.from(
            `HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nx-codex-primary-used-percent: 100\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
          ),
        ),
      async (url) => {
        const error = await connect(url).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(UpgradeRejected)
        const rejected = error as UpgradeRejected
        expect(rejected.status).toBe(429)
        expect(rejected.headers["x-codex-primary-used-percent"]).toBe("100")
        expect(JSON.parse(rejected.body).error.type).toBe("usage_limit_reached")
      },
    )
  })

  test("a chunked refusal body is decoded", () =>
    withServer(
      (peer) => {
        peer.socket.write(
          'HTTP/1.1 401 Unauthorized\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"det\r\n9\r\nail":"x"}\r\n0\r\n\r\n',
        )
      },
      async (url) => {
        const error = (await connect(url).catch((e: unknown) => e)) as UpgradeRejected
        expect(error).toBeInstanceOf(UpgradeRejected)
        expect(error.status).toBe(401)
        expect(error.body).toBe('{"detail":"x"}')
      },
    ))

  test("a header block over 64 KiB is an error, not unbounded buffering", () =>
    withServer(
      (peer) => {
        peer.socket.write(`HTTP/1.1 101 Switching Protocols\r\nx-junk: ${"a".repeat(70_000)}`)
      },
      async (url) => {
        await expect(connect(url)).rejects.toThrow(/header block over 65536 bytes/)
      },
    ))

  test("partial frames across chunks, 16- and 64-bit lengths, each message delivered as soon as complete", () =>
    withServer(
      async (peer) => {
        peer.accept()
        const medium = frame(1, "m".repeat(1000))
        const large = frame(1, "L".repeat(70_000))
        peer.socket.write(medium.subarray(0, 3))
        await new Promise((r) => setTimeout(r, 5))
        peer.socket.write(Buffer.concat([medium.subarray(3), large.subarray(0, 7)]))
        // the first message must arrive before the server sends the rest of the second
        const ack = await peer.nextFrame()
        expect(ack.payload.toString()).toBe("got medium")
        peer.socket.write(large.subarray(7, 40_000))
        peer.socket.write(large.subarray(40_000))
      },
      async (url) => {
        const conn = await connect(url)
        const rec = record(conn)
        expect(await rec.next()).toBe("m".repeat(1000))
        conn.send("got medium")
        expect(await rec.next()).toBe("L".repeat(70_000))
      },
    ))

  const protocolFailure = (name: string, bytes: () => Buffer, code: number, reason: RegExp) =>
    test(name, () => {
      let clientClose: Promise<Buffer> | undefined
      return withServer(
        (peer) => {
          peer.accept()
          peer.socket.write(bytes())
          clientClose = peer.nextFrame().then((f) => (f.opcode === 8 ? f.payload : Buffer.alloc(0)))
        },
        async (url) => {
          const rec = record(await connect(url))
          const closed = await rec.closed
          expect(closed.code).toBe(code)
          expect(closed.reason).toMatch(reason)
          expect(rec.messages).toEqual([])
          const payload = await (clientClose as Promise<Buffer>)
          expect(payload.readUInt16BE(0)).toBe(code)
        },
      )
    })

  protocolFailure(
    "a masked server frame fails with 1002",
    () => frame(1, "hi", { mask: Uint8Array.of(1, 2, 3, 4) }),
    1002,
    /masked/,
  )
  protocolFailure("a reserved opcode fails with 1002", () => frame(3, "hi"), 1002, /reserved opcode 0x3/)
  protocolFailure("RSV bits without an extension fail with 1002", () => frame(1, "hi", { rsv: 4 }), 1002, /RSV/)
  protocolFailure("a control frame over 125 bytes fails with 1002", () => frame(9, "p".repeat(126)), 1002, /over 125/)
  protocolFailure(
    "a fragmented control frame fails with 1002",
    () => frame(9, "p", { fin: false }),
    1002,
    /fragmented control/,
  )
  protocolFailure(
    "an absurd 64-bit length fails with 1009 from the header alone",
    () => frame(1, "", { length: 2 ** 40 }),
    1009,
    /exceeds/,
  )
  protocolFailure(
    "invalid UTF-8 in a text message fails with 1007",
    () => frame(1, Uint8Array.of(0x68, 0xff, 0xfe)),
    1007,
    /UTF-8/,
  )
  protocolFailure(
    "invalid UTF-8 split across fragments fails with 1007",
    () => Buffer.concat([frame(1, Uint8Array.of(0xe2, 0x82), { fin: false }), frame(0, Uint8Array.of(0x28))]),
    1007,
    /UTF-8/,
  )
  protocolFailure("a continuation without a message fails with 1002", () => frame(0, "x"), 1002, /continuation/)

  test("a message over maxMessageBytes, built from fragments, fails with 1009", () => {
    const small = connectorFor({ implementation, maxMessageBytes: 1000 })
    return withServer(
      (peer) => {
        peer.accept()
        peer.socket.write(Buffer.concat([frame(1, "a".repeat(600), { fin: false }), frame(0, "b".repeat(600))]))
      },
      async (url) => {
        const rec = record(await small(url))
        expect(await rec.closed).toEqual({ code: 1009, reason: "message of 1200 bytes exceeds the 1000 byte limit" })
      },
    )
  })

  test("ping is answered with a pong carrying the same payload", () =>
    withServer(
      async (peer) => {
        peer.accept()
        peer.socket.write(frame(9, "are you there"))
        const pong = await peer.nextFrame()
        peer.socket.write(frame(1, `pong:${pong.opcode}:${pong.masked}:${pong.payload.toString()}`))
      },
      async (url) => {
        const rec = record(await connect(url))
        expect(await rec.next()).toBe("pong:10:true:are you there")
      },
    ))

  test("fragments with an interleaved ping reassemble into one message", () =>
    withServer(
      async (peer) => {
        peer.accept()
        peer.socket.write(frame(1, "hel", { fin: false }))
        peer.socket.write(frame(9, "mid"))
        peer.socket.write(frame(0, "lo ", { fin: false }))
        peer.socket.write(frame(0, "wörld"))
        const pong = await peer.nextFrame()
        peer.socket.write(frame(1, `${pong.opcode}:${pong.payload.toString()}`))
      },
      async (url) => {
        const rec = record(await connect(url))
        expect(await rec.next()).toBe("hello wörld")
        expect(await rec.next()).toBe("10:mid")
      },
    ))

  test("a close in the middle of a fragmented message ends with the server's code and is echoed", () => {
    let echoed: Promise<{ opcode: number; code: number }> | undefined
    return withServer(
      (peer) => {
        peer.accept()
        peer.socket.write(
          Buffer.concat([frame(1, "partial", { fin: false }), frame(8, closePayload(1011, "server error"))]),
        )
        echoed = peer.nextFrame().then((f) => ({ opcode: f.opcode, code: f.payload.readUInt16BE(0) }))
      },
      async (url) => {
        const rec = record(await connect(url))
        expect(await rec.closed).toEqual({ code: 1011, reason: "server error" })
        expect(rec.messages).toEqual([])
        expect(await echoed).toEqual({ opcode: 8, code: 1011 })
      },
    )
  })

  test("a socket that drops without a close frame reports 1006", () =>
    withServer(
      (peer) => {
        peer.accept()
        peer.socket.end(frame(1, "last"))
      },
      async (url) => {
        const rec = record(await connect(url))
        expect(await rec.next()).toBe("last")
        expect((await rec.closed).code).toBe(1006)
      },
    ))

  it.effect("an interrupted handshake closes its socket (the connect deadline is the caller's)", () =>
    Effect.gen(function* () {
      let requested!: () => void
      let gone!: () => void
      const asked = new Promise<void>((resolve) => {
        requested = resolve
      })
      const closed = new Promise<void>((resolve) => {
        gone = resolve
      })
      const server = yield* serve((peer) => {
        // never answers the upgrade
        peer.socket.on("close", () => gone())
        requested()
      })
      const connecting = yield* Effect.forkChild(Effect.scoped(makeRawConnector({ implementation })(server.url, {})))
      yield* Effect.promise(() => asked)
      yield* Fiber.interrupt(connecting)
      yield* Effect.promise(() => closed)
    }),
  )

  it.effect("a peer stalled mid-message fails the connection after the stall limit on the Clock", () =>
    Effect.gen(function* () {
      const probe = yield* makeSleepProbe
      const server = yield* serve((peer) => {
        peer.accept()
        peer.socket.write(frame(1, "x".repeat(500)).subarray(0, 100))
      })
      const conn = yield* withProbe(probe)(makeRawConnector({ implementation, stallTimeoutMs: 30_000 })(server.url, {}))
      const closed = yield* Effect.forkChild(closedOf(conn))
      yield* crossDeadline(probe, 30_000, closed)
      const { code, reason } = yield* Fiber.join(closed)
      expect(code).toBe(1006)
      expect(reason).toMatch(/stalled mid-message: no data for 30000 ms/)
    }),
  )

  it.effect("with a long idle limit, a peer stalled mid-message still fails after the stall limit", () =>
    Effect.gen(function* () {
      const probe = yield* makeSleepProbe
      const server = yield* serve((peer) => {
        peer.accept()
        peer.socket.write(frame(1, "x".repeat(500)).subarray(0, 100))
      })
      const connector = makeRawConnector({ implementation, stallTimeoutMs: 300, idleTimeoutMs: 600_000 })
      const conn = yield* withProbe(probe)(connector(server.url, {}))
      yield* probe.sleeping(300)
      yield* TestClock.adjust(300)
      const { code, reason } = yield* closedOf(conn)
      expect(code).toBe(1006)
      expect(reason).toMatch(/stalled mid-message/)
    }),
  )

  it.effect("an idle limit fails a connection on which nothing arrives, between whole messages", () =>
    Effect.gen(function* () {
      const probe = yield* makeSleepProbe
      const server = yield* serve((peer) => {
        peer.accept()
        peer.socket.write(frame(1, "whole"))
      })
      const connector = makeRawConnector({ implementation, stallTimeoutMs: 100, idleTimeoutMs: 60_000 })
      const conn = yield* withProbe(probe)(connector(server.url, {}))
      const first = yield* Effect.callback<string>((resume) => conn.onMessage((text) => resume(Effect.succeed(text))))
      expect(first).toBe("whole")
      // armed at the connect, for the idle limit
      yield* probe.sleeping(60_000)
      yield* TestClock.adjust(60_000)
      const { code, reason } = yield* closedOf(conn)
      expect(code).toBe(1006)
      expect(reason).toMatch(/idle timeout: no data for 60000 ms/)
    }),
  )

  it.effect("our close waits the close timeout on the Clock for a peer that never answers", () =>
    Effect.gen(function* () {
      const probe = yield* makeSleepProbe
      const server = yield* serve((peer) => peer.accept())
      const conn = yield* withProbe(probe)(makeRawConnector({ implementation, closeTimeoutMs: 5_000 })(server.url, {}))
      const closed = yield* Effect.forkChild(closedOf(conn))
      conn.close(1000, "bye")
      yield* probe.sleeping(5_000)
      yield* TestClock.adjust(5_000)
      const { code, reason } = yield* Fiber.join(closed)
      expect(code).toBe(1006)
      expect(reason).toMatch(/close handshake timed out after 5000 ms/)
      yield* (conn as RawConnection).whenGone
    }),
  )

  it.effect("messages in the 101's segment are delivered before the failure that follows them", () =>
    Effect.gen(function* () {
      const server = yield* serve((peer) => {
        peer.socket.write(
          Buffer.concat([Buffer.from(upgradeResponse(peer.request.key)), frame(1, "a"), frame(1, "b"), frame(3, "x")]),
        )
      })
      const conn = yield* makeRawConnector({ implementation })(server.url, {})
      const events: Array<string> = []
      // the close listener first: it still hears the close after the messages that came before it
      const closed = Effect.callback<void>((resume) =>
        conn.onClose((code) => {
          events.push(`close ${code}`)
          resume(Effect.void)
        }),
      )
      const fiber = yield* Effect.forkChild(closed, { startImmediately: true })
      conn.onMessage((text) => events.push(text))
      yield* Fiber.await(fiber)
      expect(events).toEqual(["a", "b", "close 1002"])
    }),
  )

  it.effect(
    "a close in the 101's segment is noticed: the socket is known gone without any time passing",
    () =>
      Effect.gen(function* () {
        const server = yield* serve((peer) => {
          peer.socket.write(
            Buffer.concat([Buffer.from(upgradeResponse(peer.request.key)), frame(8, closePayload(1000, "bye"))]),
          )
        })
        // the TestClock never moves: were the socket's close missed, only the close alarm could end it
        const conn = yield* makeRawConnector({ implementation, closeTimeoutMs: 5_000 })(server.url, {})
        conn.onMessage(() => {})
        expect(yield* closedOf(conn)).toEqual({ code: 1000, reason: "bye" })
        yield* (conn as RawConnection).whenGone
      }),
    10_000,
  )

  test("a refused connection is a plain error", async () => {
    const server = await startServer(() => {})
    const url = server.url
    await server.close()
    await expect(connect(url)).rejects.toThrow(/127\.0\.0\.1/)
  })

  test("a refusal and a failed connect are typed: UpgradeRejected, ConnectFailure", async () => {
    const server = await startServer(() => {})
    const url = server.url
    await server.close()
    const exit = await Effect.runPromiseExit(Effect.scoped(makeRawConnector({ implementation })(url, {})))
    expect(Exit.isFailure(exit) && JSON.stringify(exit.cause)).toMatch(/ConnectFailure/)
  })
})
