/** Connections a test file opens through the Effect connectors, each test's closed after it. */
import { afterEach } from "bun:test"
import { Effect, Exit, Scope } from "effect"
import type { WsConnection, WsConnector } from "../../src/WsConnection.ts"

export const connections = () => {
  let scope = Scope.makeUnsafe()
  afterEach(async () => {
    await Effect.runPromise(Scope.close(scope, Exit.void))
    scope = Scope.makeUnsafe()
  })
  return (connector: WsConnector, url: string, headers: Readonly<Record<string, string>> = {}): Promise<WsConnection> =>
    Effect.runPromise(Scope.provide(scope)(connector(url, headers)))
}
