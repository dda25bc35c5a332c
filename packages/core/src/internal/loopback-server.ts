/**
 * The callback server's sockets: one `node:http` server per loopback address on one port, a port whose every
 * address could be taken (or whose first could not, and the others do not exist on this machine), and the
 * difference between "another program has this port" and any other reason it could not listen.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"

export type OnRequest = (request: IncomingMessage, response: ServerResponse) => void

type Bound =
  | { readonly _tag: "Bound"; readonly server: Server }
  | { readonly _tag: "Failed"; readonly code: string; readonly message: string }

const listenOn = (host: string, port: number, onRequest: OnRequest) =>
  new Promise<Bound>((resolve) => {
    const server = createServer(onRequest)
    const failed = (error: NodeJS.ErrnoException) =>
      resolve({ _tag: "Failed", code: error.code ?? "UNKNOWN", message: error.message })
    server.once("error", failed)
    server.listen({ host, port, exclusive: true }, () => {
      server.off("error", failed)
      // a client that misbehaves after we listen must not crash the host process
      server.on("error", () => {})
      resolve({ _tag: "Bound", server })
    })
  })

export const stop = (servers: ReadonlyArray<Server>) => {
  for (const server of servers) {
    server.close()
    server.closeAllConnections()
  }
}

/** an address this machine does not have (no IPv6 loopback): the other addresses serve alone */
const absent = (code: string) => code === "EADDRNOTAVAIL" || code === "EAFNOSUPPORT" || code === "EPROTONOSUPPORT"

export type PortAttempt =
  | {
      readonly _tag: "Listening"
      readonly port: number
      readonly servers: ReadonlyArray<Server>
      readonly hosts: ReadonlyArray<string>
    }
  | { readonly _tag: "Busy"; readonly why: string }
  | { readonly _tag: "Failed"; readonly code: string; readonly why: string }

export const bindPort = async (
  port: number,
  hosts: ReadonlyArray<string>,
  onRequest: OnRequest,
): Promise<PortAttempt> => {
  const servers: Array<Server> = []
  const bound: Array<string> = []
  let actual = port
  for (const [i, host] of hosts.entries()) {
    const attempt = await listenOn(host, actual, onRequest)
    if (attempt._tag === "Bound") {
      servers.push(attempt.server)
      bound.push(host)
      // port 0 (tests): every address on the port the first one got
      actual = (attempt.server.address() as AddressInfo).port
      continue
    }
    if (i > 0 && absent(attempt.code)) continue
    stop(servers)
    const where = host.includes(":") ? `[${host}]:${actual}` : `${host}:${actual}`
    return attempt.code === "EADDRINUSE"
      ? { _tag: "Busy", why: `${where} is in use by another program` }
      : { _tag: "Failed", code: attempt.code, why: `${where}: ${attempt.message}` }
  }
  return { _tag: "Listening", port: actual, servers, hosts: bound }
}
