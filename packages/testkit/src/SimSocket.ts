/**
 * The WebSocket flavour of `/codex/responses`: one `response.create` text frame per turn, answered with a
 * `codex.rate_limits` frame and the same events as SSE, one JSON per frame. Each socket remembers its own
 * responses so `previous_response_id` chains only on the same connection, like the real backend.
 */
import type { Server, ServerWebSocket, WebSocketHandler } from "bun"
import { authenticate, planTurn, replyFrames } from "./SimCodex.ts"
import { headersOf, isRecord, json } from "./SimHttp.ts"
import { rateLimitsFrame, wsErrorFrame } from "./SimQuota.ts"
import { refuseInput, refuseRequest } from "./SimRules.ts"
import type { SimState } from "./SimState.ts"

export interface SocketData {
  readonly accountId: string
  readonly headers: Record<string, string>
  readonly path: string
  readonly openedAt: number
  /** response id -> the full input it answered followed by its output items */
  readonly responses: Map<string, ReadonlyArray<unknown>>
  /** resolved by the drain handler when Bun's send buffer empties again */
  drained: (() => void) | undefined
  /** turns run one after another, like the real backend's one in-flight response per socket */
  queue: Promise<void>
}

type Ws = ServerWebSocket<SocketData>

/** authenticate the handshake; undefined means the upgrade happened */
export const upgrade = (
  state: SimState,
  server: Server<SocketData>,
  request: Request,
  path: string,
): Response | undefined => {
  const headers = headersOf(request)
  const auth = authenticate(state, headers)
  if (!auth.ok) {
    state.record({
      at: state.now(),
      path,
      method: "GET",
      headers,
      body: undefined,
      transport: "ws",
      status: auth.status,
    })
    return json(auth.body, auth.status)
  }
  const data: SocketData = {
    accountId: auth.accountId,
    headers,
    path,
    openedAt: state.now(),
    responses: new Map(),
    drained: undefined,
    queue: Promise.resolve(),
  }
  const upgraded = server.upgrade(request, {
    data,
    headers: { "x-codex-turn-state": `ts_${data.openedAt}`, "x-reasoning-included": "true" },
  })
  return upgraded ? undefined : json({ detail: "WebSocket upgrade failed" }, 400)
}

const sendError = (
  ws: Ws,
  status: number,
  error: Record<string, unknown>,
  headers: Record<string, string> = {},
): number => {
  ws.send(JSON.stringify(wsErrorFrame(status, error, headers)))
  return status
}

const errorOf = (body: unknown): Record<string, unknown> => {
  if (isRecord(body) && isRecord(body.error)) return body.error
  const message = isRecord(body) && typeof body.detail === "string" ? body.detail : "Simulated error"
  return { type: "invalid_request_error", message }
}

const turn = async (state: SimState, ws: Ws, text: string): Promise<void> => {
  const data = ws.data
  let frame: unknown
  try {
    frame = JSON.parse(text)
  } catch {
    frame = text
  }
  const record = state.record({
    at: state.now(),
    path: data.path,
    method: "WS",
    headers: data.headers,
    body: frame,
    bytes: Buffer.byteLength(text),
    accountId: data.accountId,
    transport: "ws",
  })
  if (!isRecord(frame) || frame.type !== "response.create") {
    record.status = sendError(ws, 400, { type: "invalid_request_error", message: "Expected a response.create frame" })
    return
  }
  if (state.now() - data.openedAt >= state.wsMaxAgeMs) {
    record.status = sendError(ws, 400, {
      type: "invalid_request_error",
      code: "websocket_connection_limit_reached",
      message:
        "Responses websocket connection limit reached (60 minutes). Create a new websocket connection to continue.",
    })
    return
  }
  const { type: _type, ...body } = frame
  const refused = refuseRequest({ body, headers: data.headers, transport: "ws" })
  if (refused !== undefined) {
    record.status = sendError(ws, refused.status, errorOf(refused.body))
    return
  }
  let input = body.input as ReadonlyArray<unknown>
  const previous = body.previous_response_id
  if (typeof previous === "string") {
    const earlier = data.responses.get(previous)
    if (earlier === undefined) {
      record.status = sendError(ws, 400, {
        type: "invalid_request_error",
        code: "previous_response_not_found",
        message: `Previous response with id '${previous}' not found.`,
        param: "previous_response_id",
      })
      return
    }
    input = [...earlier, ...input]
  }
  // the remembered response's items carry the server's ids: only the items the client sent are checked for them
  const wrong = refuseInput(input, body.input as ReadonlyArray<unknown>)
  if (wrong !== undefined) {
    record.status = sendError(ws, wrong.status, errorOf(wrong.body))
    return
  }
  const plan = planTurn(state, data.accountId, body, input, record)
  switch (plan.kind) {
    case "error":
      record.status = sendError(ws, plan.status, errorOf(plan.body), plan.headers)
      return
    case "close":
      ws.close(plan.code, plan.reason)
      return
    case "connection_limit":
      record.status = sendError(ws, 400, {
        type: "invalid_request_error",
        code: "websocket_connection_limit_reached",
        message:
          "Responses websocket connection limit reached (60 minutes). Create a new websocket connection to continue.",
      })
      return
  }
  record.status = 200
  ws.send(JSON.stringify(rateLimitsFrame(state.quota(data.accountId), state.planOf(data.accountId), state.now())))
  if (plan.kind === "failed") {
    ws.send(JSON.stringify(plan.created))
    ws.send(JSON.stringify(plan.failed))
    return
  }
  if (plan.kind === "malformed") {
    ws.send(JSON.stringify(plan.created))
    ws.send('{"type":"response.output_text.delta","delta":')
    return
  }
  if (plan.delayMs > 0) await Bun.sleep(plan.delayMs)
  for (const out of replyFrames(plan.reply, plan.dropAfter)) {
    if (out === "drop") {
      if (plan.cleanDrop === true) ws.close(1011, "simulated drop")
      else ws.terminate()
      return
    }
    for (let i = 0; i < out.count; i++) {
      // -1 = buffered over the backpressure limit: wait so long streams are never silently dropped
      if (ws.send(out.json) === -1) await new Promise<void>((resolve) => (data.drained = resolve))
    }
  }
  data.responses.set(plan.reply.responseId, [...input, ...plan.reply.output])
}

const release = (ws: Ws) => {
  const resolve = ws.data.drained
  ws.data.drained = undefined
  resolve?.()
}

export const socketHandler = (state: SimState): WebSocketHandler<SocketData> => ({
  perMessageDeflate: false,
  drain: release,
  close: release,
  message(ws, message) {
    if (typeof message !== "string") {
      sendError(ws, 400, { type: "invalid_request_error", message: "Binary frames are not supported" })
      return
    }
    ws.data.queue = ws.data.queue
      .then(() => turn(state, ws, message))
      .catch((error: unknown) => ws.close(1011, `simulator error: ${String(error)}`.slice(0, 120)))
  },
})
