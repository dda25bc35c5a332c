/**
 * `/__sim/*`: the control API for a simulator running in another process (the demo, a real OpenCode in e2e
 * tests). Every route calls the same `SimState` method the in-process handle calls.
 */
import { isRecord, json, str } from "./SimHttp.ts"
import type { SimState } from "./SimState.ts"
import type { AccountInit, DeviceSettings, RefreshFailure, ScriptStep, SimQuota } from "./SimTypes.ts"

const listOf = <A>(body: Record<string, unknown>, many: string, one: string): Array<A> => {
  const list = body[many]
  if (Array.isArray(list)) return list as Array<A>
  return body[one] === undefined ? [] : [body[one] as A]
}

const accountIdOf = (body: Record<string, unknown>): string => {
  const id = str(body.accountId)
  if (id === undefined) throw new Error("accountId is required")
  return id
}

const route = (state: SimState, method: string, name: string, body: Record<string, unknown>): Response => {
  switch (`${method} ${name}`) {
    case "GET accounts":
      return json([...state.accounts.values()])
    case "POST accounts":
      return json(state.addAccount({ ...body, accountId: accountIdOf(body) } as AccountInit), 201)
    case "POST tokens":
      return json(state.issueTokens(accountIdOf(body), typeof body.expiresIn === "number" ? body.expiresIn : undefined))
    case "POST expire":
      state.expireAccessTokens(accountIdOf(body))
      return json({ ok: true })
    case "POST script": {
      const accountId = accountIdOf(body)
      state.requireAccount(accountId)
      state.script(accountId, ...listOf<ScriptStep>(body, "steps", "step"))
      return json({ queued: state.scripts.get(accountId)?.length ?? 0 })
    }
    case "POST refresh-failure":
      state.scriptRefresh(accountIdOf(body), ...listOf<RefreshFailure>(body, "failures", "failure"))
      return json({ ok: true })
    case "POST quota": {
      const { accountId: _id, ...quota } = body
      return json(state.setQuota(accountIdOf(body), quota as Partial<SimQuota>))
    }
    case "POST next-login":
      state.nextLogin(accountIdOf(body))
      return json({ ok: true })
    case "POST authorize-denied":
      state.authorizeDenied(str(body.error), str(body.description))
      return json({ ok: true })
    case "POST device":
      state.setDevice(body as DeviceSettings)
      return json({ interval: state.deviceInterval, approveAfterPolls: state.deviceApproveAfterPolls })
    case "GET requests":
      return json(state.requests)
    case "GET refreshes":
      return json(state.refreshes)
    case "POST reset":
      state.reset()
      return json({ ok: true })
    default:
      return json({ error: `unknown admin route ${method} /__sim/${name}` }, 404)
  }
}

export const handleAdmin = async (state: SimState, request: Request, path: string): Promise<Response> => {
  const name = path.slice("/__sim/".length)
  let body: unknown = {}
  if (request.method === "POST") {
    const text = await request.text()
    try {
      body = text.length === 0 ? {} : JSON.parse(text)
    } catch {
      return json({ error: "body must be JSON" }, 400)
    }
  }
  try {
    return route(state, request.method, name, isRecord(body) ? body : {})
  } catch (error) {
    return json({ error: error instanceof Error ? error.message : String(error) }, 400)
  }
}
