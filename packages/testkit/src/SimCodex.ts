/**
 * `/backend-api/codex/responses` over HTTP (SSE) and `/backend-api/wham/usage`, plus the turn planner shared
 * with the WebSocket transport: authentication, validation, scripted steps and prompt-cache usage.
 */
import { headersOf, isRecord, json, str } from "./SimHttp.ts"
import { randomId } from "./SimJwt.ts"
import { exhausted, quotaHeaders, usageBody, usageLimitBody } from "./SimQuota.ts"
import { type BuiltReply, buildReply, failedEvent, promptUsage, renderPrompt, responseHeader } from "./SimResponses.ts"
import { refuseInput, refuseRequest } from "./SimRules.ts"
import type { SimState } from "./SimState.ts"
import type { SimRequest } from "./SimTypes.ts"

export type Auth =
  | { readonly ok: true; readonly accountId: string }
  | { readonly ok: false; readonly status: number; readonly body: unknown }

export const authenticate = (state: SimState, headers: Record<string, string>): Auth => {
  const match = /^Bearer\s+(.+)$/i.exec(headers.authorization ?? "")
  if (match?.[1] === undefined) return { ok: false, status: 401, body: { detail: "Unauthorized" } }
  const access = state.checkAccess(match[1].trim())
  if (access === "unknown") {
    const message = "Could not parse your authentication token. Please try signing in again."
    return {
      ok: false,
      status: 401,
      body: { error: { message, type: "invalid_request_error", code: "token_invalid" } },
    }
  }
  if (access === "expired") {
    const message = "Provided authentication token is expired. Please try signing in again."
    return {
      ok: false,
      status: 401,
      body: { error: { message, type: "invalid_request_error", code: "token_expired" } },
    }
  }
  if (headers["chatgpt-account-id"] !== access.accountId) {
    return { ok: false, status: 403, body: { detail: "chatgpt-account-id does not match the authenticated account" } }
  }
  return { ok: true, accountId: access.accountId }
}

export type TurnPlan =
  | {
      readonly kind: "error"
      readonly status: number
      readonly body: unknown
      readonly headers: Record<string, string>
    }
  | {
      readonly kind: "reply"
      readonly reply: BuiltReply
      readonly delayMs: number
      readonly dropAfter?: number
      readonly cleanDrop?: boolean
    }
  | { readonly kind: "failed"; readonly created: object; readonly failed: object }
  | { readonly kind: "malformed"; readonly created: object }
  | { readonly kind: "close"; readonly code: number; readonly reason: string }
  | { readonly kind: "connection_limit" }

/**
 * Decide the answer to one authenticated turn the rules accept. `input` is the full conversation (for a
 * chained WebSocket request: the remembered input and output followed by the new items).
 */
export const planTurn = (
  state: SimState,
  accountId: string,
  body: Record<string, unknown>,
  input: ReadonlyArray<unknown>,
  record: SimRequest,
): TurnPlan => {
  const nowMs = state.now()
  const plan = state.planOf(accountId)
  const model = str(body.model) ?? "gpt-5.5"
  const step = state.nextStep(accountId)
  const fault = step !== undefined && "fault" in step ? step.fault : undefined
  const quota = state.quota(accountId)
  switch (fault?.kind) {
    case "status": {
      const errBody = fault.body ?? {
        error: {
          message: `Simulated ${fault.status}`,
          type: fault.status >= 500 ? "server_error" : "invalid_request_error",
          code: null,
        },
      }
      return { kind: "error", status: fault.status, body: errBody, headers: {} }
    }
    case "usage_limit": {
      const seconds = fault.resetsInSeconds ?? 3600
      const headers = quotaHeaders(exhausted(quota, seconds), plan, nowMs)
      return { kind: "error", status: 429, body: usageLimitBody(plan, nowMs, seconds), headers }
    }
    case "burst_429": {
      const seconds = fault.retryAfterSeconds ?? 1
      const message = `Rate limit reached for requests. Please try again in ${seconds}s.`
      return {
        kind: "error",
        status: 429,
        body: { error: { message, type: "requests", code: "rate_limit_exceeded" } },
        headers: { "retry-after": String(seconds) },
      }
    }
    case "failed_before_output": {
      const id = randomId("resp_", 16)
      const code = fault.code ?? "server_error"
      const message = fault.message ?? "An error occurred while processing your request."
      return {
        kind: "failed",
        created: responseHeader(id, model, Math.floor(nowMs / 1000)),
        failed: failedEvent(id, model, nowMs, code, message),
      }
    }
    case "malformed_sse":
      return { kind: "malformed", created: responseHeader(randomId("resp_", 16), model, Math.floor(nowMs / 1000)) }
    case "ws_close":
      return { kind: "close", code: fault.code ?? 1011, reason: fault.reason ?? "simulated close" }
    case "ws_connection_limit":
      return { kind: "connection_limit" }
    default: {
      const { inputTokens, cachedTokens } = promptUsage(
        state,
        accountId,
        str(body.prompt_cache_key),
        renderPrompt(body, input),
      )
      const replySpec = step !== undefined && "reply" in step ? step.reply : {}
      const ctx = { model, nowMs, defaultText: state.defaultText, inputTokens, cachedTokens }
      const reply = buildReply(body.generate === false ? { toolCalls: [] } : replySpec, ctx)
      record.usage = reply.usage
      record.responseId = reply.responseId
      const delayMs = fault?.kind === "slow_first_byte" ? fault.ms : 0
      if (fault?.kind !== "drop_mid_stream") return { kind: "reply", reply, delayMs }
      return { kind: "reply", reply, delayMs, dropAfter: fault.afterDeltas, cleanDrop: fault.clean === true }
    }
  }
}

export interface Frame {
  readonly type: string
  readonly json: string
  readonly count: number
}

/** the reply as JSON frames; "drop" means cut the connection right here */
export function* replyFrames(reply: BuiltReply, dropAfter?: number): Generator<Frame | "drop"> {
  const frame = (event: Record<string, unknown>, count = 1): Frame => ({
    type: String(event.type),
    json: JSON.stringify(event),
    count,
  })
  yield frame(reply.created)
  let left = dropAfter ?? Number.POSITIVE_INFINITY
  for (const segment of reply.body) {
    const isDelta = String(segment.event.type).endsWith(".delta")
    const count = segment.kind === "repeat" ? segment.count : 1
    if (isDelta && left <= 0) return yield "drop"
    const emitted = isDelta ? Math.min(count, left) : count
    yield frame(segment.event, emitted)
    if (isDelta) {
      left -= emitted
      if (emitted < count) return yield "drop"
    }
  }
  if (left <= 0 && dropAfter !== undefined) return yield "drop"
  yield frame(reply.completed)
}

const encoder = new TextEncoder()
const sse = (type: string, data: string) => `event: ${type}\ndata: ${data}\n\n`
/** batch repeated frames so a 10k-delta stream is a handful of writes */
const BATCH = 512
const DROP_FLUSH_MS = 20

const sseBody = (plan: TurnPlan): ReadableStream<Uint8Array> => {
  const chunks = (function* (): Generator<Uint8Array | "drop"> {
    if (plan.kind === "failed") {
      yield encoder.encode(sse("response.created", JSON.stringify(plan.created)))
      yield encoder.encode(sse("response.failed", JSON.stringify(plan.failed)))
    } else if (plan.kind === "malformed") {
      yield encoder.encode(sse("response.created", JSON.stringify(plan.created)))
      yield encoder.encode('event: response.output_text.delta\ndata: {"type":"response.output_text.delta","delta":\n\n')
    } else if (plan.kind === "reply") {
      for (const frame of replyFrames(plan.reply, plan.dropAfter)) {
        if (frame === "drop") return yield "drop"
        const text = sse(frame.type, frame.json)
        if (frame.count === 1) yield encoder.encode(text)
        else {
          const batch = encoder.encode(text.repeat(BATCH))
          for (let left = frame.count; left > 0; left -= BATCH) {
            yield left >= BATCH ? batch : encoder.encode(text.repeat(left))
          }
        }
      }
    } else {
      yield "drop"
    }
  })()
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = chunks.next()
      if (next.done) controller.close()
      else if (next.value !== "drop") controller.enqueue(next.value)
      else if (plan.kind === "reply" && plan.cleanDrop) controller.close()
      else {
        // Let the bytes before the cut reach the client first; erroring at once resets the connection before
        // Bun has flushed them. An undefined reason keeps Bun from logging the abort.
        await Bun.sleep(DROP_FLUSH_MS)
        controller.error(undefined)
      }
    },
  })
}

export const handleResponsesHttp = async (state: SimState, request: Request, path: string): Promise<Response> => {
  const headers = headersOf(request)
  const text = await request.text()
  let body: unknown = text
  try {
    body = JSON.parse(text)
  } catch {}
  const auth = authenticate(state, headers)
  const bytes = Buffer.byteLength(text)
  const base = { at: state.now(), path, method: request.method, headers, body, bytes, transport: "http" as const }
  const record = state.record(auth.ok ? { ...base, accountId: auth.accountId } : base)
  const answer = (response: Response) => {
    record.status = response.status
    return response
  }
  if (!auth.ok) return answer(json(auth.body, auth.status))
  const refused = refuseRequest({ body, headers, transport: "http" })
  if (refused !== undefined || !isRecord(body)) return answer(json(refused?.body, refused?.status ?? 400))
  // store:false keeps nothing between HTTP requests (§3.4)
  if (typeof body.previous_response_id === "string") {
    return answer(json({ detail: `Previous response with id '${body.previous_response_id}' not found.` }, 400))
  }
  const input = body.input as ReadonlyArray<unknown>
  const wrong = refuseInput(input)
  if (wrong !== undefined) return answer(json(wrong.body, wrong.status))
  const plan = planTurn(state, auth.accountId, body, input, record)
  if (plan.kind === "error") return answer(json(plan.body, plan.status, plan.headers))
  if (plan.kind === "reply" && plan.delayMs > 0) await Bun.sleep(plan.delayMs)
  // no Content-Type: the live backend sends its SSE without one, so a client must not sniff it (codex-rs
  // codex-api/src/sse/responses.rs tests; KarpelesLab/teamclaude#456; docs/protocol.md §4)
  const responseHeaders = {
    "cache-control": "no-cache",
    "x-request-id": randomId("req_", 12),
    ...quotaHeaders(state.quota(auth.accountId), state.planOf(auth.accountId), state.now()),
  }
  return answer(new Response(sseBody(plan), { status: 200, headers: responseHeaders }))
}

export const handleUsage = (state: SimState, request: Request, path: string): Response => {
  const headers = headersOf(request)
  const auth = authenticate(state, headers)
  const base = { at: state.now(), path, method: request.method, headers, body: undefined, transport: "http" as const }
  const record = state.record(auth.ok ? { ...base, accountId: auth.accountId } : base)
  const response = auth.ok
    ? json(usageBody(state.quota(auth.accountId), state.planOf(auth.accountId), state.now()))
    : json(auth.body, auth.status)
  record.status = response.status
  return response
}
