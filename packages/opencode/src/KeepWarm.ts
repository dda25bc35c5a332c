/**
 * Idle prompt-cache keep-warm. The backend evicts a session's cached prefix after ~5 minutes without
 * traffic (~30 for gpt-5.6-*), so a user returning after a coffee pays the whole prefix again. Per tracked
 * session we replay its latest real request as a `store: false` shadow turn shortly before the eviction,
 * on the account that served it, until the session has been idle past its cap (1 h main, 30 min subagent).
 * One timer fiber per session, all of them owned by the layer's scope.
 */

import { UNSUPPORTED_FIELDS } from "@cortexkit/openai-auth-core/CodexRequest"
import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { clampEffort } from "@cortexkit/openai-auth-core/Models"
import { Clock, Context, Duration, Effect, FiberMap, Layer } from "effect"

export interface KeepWarmSettings {
  readonly enabled: boolean
  readonly subagents: boolean
}

export interface WarmUsage {
  readonly inputTokens: number
  readonly cachedTokens: number
  readonly outputTokens: number
}

export interface WarmRequest {
  readonly sessionKey: string
  readonly account: string
  readonly body: Record<string, unknown>
}

export interface TrackInput {
  readonly sessionKey: string
  readonly account: string
  /** undefined when the host could not tell: such a session is never warmed */
  readonly subagent: boolean | undefined
  /** the host agent that made the request (OpenCode: `build`, `plan`, `title`, ...), when the host says */
  readonly agent?: string | undefined
  /** the prepared wire JSON of the real request (full input, not a WebSocket delta) */
  readonly body: Record<string, unknown>
  readonly model: string
  /**
   * the keep-warm settings as the request read them (the request path's own store read), instead of a read
   * here; each warm still re-reads the live settings before it is sent
   */
  readonly settings?: KeepWarmSettings | undefined
}

export interface TrackedSession {
  readonly sessionKey: string
  readonly account: string
  readonly subagent: boolean
  /** epoch ms of the last real request */
  readonly lastActivity: number
  /** undefined once the session stopped warming (idle cap reached or the account failed) */
  readonly nextWarmAt?: number
  readonly warms: number
  readonly stopped?: "idle" | "failed"
}

export interface KeepWarmStatus {
  readonly enabled: boolean
  readonly subagents: boolean
  readonly tracked: ReadonlyArray<TrackedSession>
  readonly lastWarm?: { readonly at: number; readonly sessionKey: string; readonly usage?: WarmUsage }
}

export interface KeepWarmOptions {
  /** read live on every track and tick (the store's `cacheKeep`) */
  readonly settings: Effect.Effect<KeepWarmSettings>
  /** sends one shadow request on the given account (the routed client pinned to it) */
  readonly warm: (request: WarmRequest) => Effect.Effect<{ readonly usage?: WarmUsage }, unknown>
  readonly ttlMs?: (model: string) => number
  /** how long before the eviction the warm goes out (default 30 s) */
  readonly marginMs?: number
  readonly mainIdleCapMs?: number
  readonly subagentIdleCapMs?: number
  /** delay before the one retry after a failed warm (default 15 s, still inside the margin) */
  readonly retryDelayMs?: number
  /** consecutive failures after which the session stops warming until real activity (default 2) */
  readonly maxFailures?: number
  readonly maxSessions?: number
  /** told after every warm attempt, once the status reflects it (e.g. to refresh the state file) */
  readonly onWarm?: (event: WarmEvent) => Effect.Effect<void>
}

export interface WarmEvent {
  readonly sessionKey: string
  readonly account: string
  readonly at: number
  readonly ok: boolean
  readonly usage?: WarmUsage
}

/** What the state file shows of keep-warm: `status` without the per-session list. */
export interface KeepWarmSummary {
  readonly enabled: boolean
  /** sessions tracked and not stopped */
  readonly tracked: number
}

export interface KeepWarmShape {
  /**
   * after every real request: remember its body and restart the session's timer; returns the summary as it
   * stands afterwards (from the same read of the settings: the request path does not read them twice)
   */
  readonly track: (input: TrackInput) => Effect.Effect<KeepWarmSummary>
  /** the session is gone */
  readonly untrack: (sessionKey: string) => Effect.Effect<void>
  readonly status: Effect.Effect<KeepWarmStatus>
}

export const DEFAULT_TTL_MS = 5 * 60_000
export const GPT_5_6_TTL_MS = 30 * 60_000
export const DEFAULT_MARGIN_MS = 30_000
export const MAIN_IDLE_CAP_MS = 60 * 60_000
export const SUBAGENT_IDLE_CAP_MS = 30 * 60_000
export const MAX_TRACKED = 200

/** how long the backend keeps an idle prompt cache for `model` (docs/protocol.md §8, empirical) */
export const cacheTtlMs = (model: string): number => (model.startsWith("gpt-5.6") ? GPT_5_6_TTL_MS : DEFAULT_TTL_MS)

/**
 * OpenCode's own side requests: the session title, the summary, the compaction. They share the session's
 * key but not its prompt, so keeping them warm would only pay for a prompt nobody sends again; worse, one
 * ending after the real turn would replace the turn as the session's warm body.
 */
export const HOST_SIDE_AGENTS: ReadonlySet<string> = new Set(["title", "summary", "compaction"])

/** Why a request is not kept warm, or undefined when it is worth keeping warm. */
export const notWarmed = (input: Pick<TrackInput, "agent" | "subagent">): string | undefined => {
  if (input.agent !== undefined && HOST_SIDE_AGENTS.has(input.agent)) return `OpenCode's ${input.agent} request`
  if (input.subagent === undefined) return "cannot tell whether the session is a subagent's"
  return undefined
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/**
 * The shadow request: the same prompt (`prompt_cache_key`, instructions, tools, input, in the same order, so
 * the cached prefix is what gets read), nothing stored, and as little generation as the model allows.
 */
export const warmBody = (body: Record<string, unknown>, model: string): Record<string, unknown> => {
  const out: Record<string, unknown> = { ...body, store: false, stream: true }
  // the fields the rewrite never sends (token caps, `previous_response_id`: a delta-only continuation cannot be
  // replayed outside its socket); the warm goes through the rewrite anyway, this keeps the shadow body honest
  for (const field of UNSUPPORTED_FIELDS) delete out[field]
  if (isRecord(body.reasoning)) out.reasoning = { ...body.reasoning, effort: clampEffort(model, "none") }
  if (isRecord(body.text) && "verbosity" in body.text) out.text = { ...body.text, verbosity: "low" }
  return out
}

interface Entry {
  account: string
  subagent: boolean
  body: Record<string, unknown>
  model: string
  lastActivity: number
  nextWarmAt: number | undefined
  warms: number
  failures: number
  stopped: "idle" | "failed" | undefined
}

export class KeepWarm extends Context.Service<KeepWarm, KeepWarmShape>()("@cortexkit/opencode-openai-auth/KeepWarm") {
  static readonly make = Effect.fnUntraced(function* (options: KeepWarmOptions) {
    const log = yield* Logger
    const fibers = yield* FiberMap.make<string>()
    const sessions = new Map<string, Entry>()
    const ttlOf = options.ttlMs ?? cacheTtlMs
    const margin = options.marginMs ?? DEFAULT_MARGIN_MS
    const mainCap = options.mainIdleCapMs ?? MAIN_IDLE_CAP_MS
    const subagentCap = options.subagentIdleCapMs ?? SUBAGENT_IDLE_CAP_MS
    const retryDelay = options.retryDelayMs ?? 15_000
    const maxFailures = options.maxFailures ?? 2
    const maxSessions = options.maxSessions ?? MAX_TRACKED
    let lastWarm: KeepWarmStatus["lastWarm"]

    const interval = (entry: Entry) => Math.max(1_000, ttlOf(entry.model) - margin)
    const capOf = (entry: Entry) => entry.lastActivity + (entry.subagent ? subagentCap : mainCap)

    const drop = (sessionKey: string) =>
      Effect.suspend(() => {
        sessions.delete(sessionKey)
        return FiberMap.remove(fibers, sessionKey)
      })

    /** the next warm at `at`, or stop for good when that is past the idle cap */
    const schedule = (entry: Entry, at: number) => {
      if (at > capOf(entry)) {
        entry.nextWarmAt = undefined
        entry.stopped = "idle"
      } else entry.nextWarmAt = at
    }

    const warmOnce = Effect.fnUntraced(function* (sessionKey: string, entry: Entry) {
      const request = { sessionKey, account: entry.account, body: warmBody(entry.body, entry.model) }
      const result = yield* Effect.result(Effect.suspend(() => options.warm(request)))
      const now = yield* Clock.currentTimeMillis
      if (result._tag === "Success") {
        entry.warms++
        entry.failures = 0
        const usage = result.success.usage
        lastWarm = usage === undefined ? { at: now, sessionKey } : { at: now, sessionKey, usage }
        yield* log.info("cache keep-warm sent", { sessionKey, account: entry.account, usage })
        schedule(entry, now + interval(entry))
        if (options.onWarm !== undefined) {
          yield* options.onWarm({
            sessionKey,
            account: entry.account,
            at: now,
            ok: true,
            ...(usage === undefined ? {} : { usage }),
          })
        }
        return
      }
      entry.failures++
      const stop = entry.failures >= maxFailures
      yield* log.warn(
        stop
          ? "cache keep-warm failed; stopping until the session is used again"
          : "cache keep-warm failed; retrying once",
        {
          sessionKey,
          account: entry.account,
          failures: entry.failures,
          error: result.failure,
        },
      )
      if (stop) {
        entry.nextWarmAt = undefined
        entry.stopped = "failed"
      } else schedule(entry, now + retryDelay * 2 ** (entry.failures - 1))
      if (options.onWarm !== undefined)
        yield* options.onWarm({ sessionKey, account: entry.account, at: now, ok: false })
    })

    /** one session's timer: sleep until the next warm, re-check the live settings, warm, repeat */
    const loop = (sessionKey: string, entry: Entry) =>
      Effect.gen(function* () {
        while (sessions.get(sessionKey) === entry && entry.nextWarmAt !== undefined) {
          const now = yield* Clock.currentTimeMillis
          if (entry.nextWarmAt > now) yield* Effect.sleep(Duration.millis(entry.nextWarmAt - now))
          const settings = yield* options.settings
          if (!settings.enabled || (entry.subagent && !settings.subagents)) {
            sessions.delete(sessionKey)
            return
          }
          yield* warmOnce(sessionKey, entry)
        }
      })

    const evictOldest = Effect.suspend(() => {
      let oldest: [string, Entry] | undefined
      for (const pair of sessions)
        if (oldest === undefined || pair[1].lastActivity < oldest[1].lastActivity) oldest = pair
      return oldest === undefined ? Effect.void : drop(oldest[0])
    })

    const summary = (enabled: boolean): KeepWarmSummary => {
      let tracked = 0
      for (const entry of sessions.values()) if (entry.stopped === undefined) tracked++
      return { enabled, tracked }
    }

    // untraced: it runs after every request
    const track = Effect.fnUntraced(function* (input: TrackInput) {
      const skip = notWarmed(input)
      const settings = input.settings ?? (yield* options.settings)
      if (skip !== undefined) {
        // leaves what the session's real turns set up as it is
        yield* log.debug("cache keep-warm: not tracked", { sessionKey: input.sessionKey, reason: skip })
        return summary(settings.enabled)
      }
      if (!settings.enabled || (input.subagent === true && !settings.subagents)) {
        if (sessions.has(input.sessionKey)) yield* drop(input.sessionKey)
        return summary(settings.enabled)
      }
      const now = yield* Clock.currentTimeMillis
      const previous = sessions.get(input.sessionKey)
      const entry: Entry = {
        account: input.account,
        subagent: input.subagent === true,
        body: input.body,
        model: input.model,
        lastActivity: now,
        nextWarmAt: undefined,
        warms: previous?.warms ?? 0,
        failures: 0,
        stopped: undefined,
      }
      schedule(entry, now + interval(entry))
      if (previous === undefined && sessions.size >= maxSessions) yield* evictOldest
      sessions.set(input.sessionKey, entry)
      yield* log.debug("cache keep-warm: tracking", {
        sessionKey: input.sessionKey,
        account: input.account,
        agent: input.agent,
        subagent: entry.subagent,
        inputItems: Array.isArray(input.body.input) ? input.body.input.length : 0,
        tools: Array.isArray(input.body.tools) ? input.body.tools.length : 0,
      })
      yield* FiberMap.run(fibers, input.sessionKey, loop(input.sessionKey, entry))
      return summary(true)
    })

    const untrack = Effect.fn("KeepWarm.untrack")(function* (sessionKey: string) {
      yield* drop(sessionKey)
    })

    const status = Effect.gen(function* () {
      const settings = yield* options.settings
      const tracked = [...sessions].map(
        ([sessionKey, entry]): TrackedSession => ({
          sessionKey,
          account: entry.account,
          subagent: entry.subagent,
          lastActivity: entry.lastActivity,
          warms: entry.warms,
          ...(entry.nextWarmAt === undefined ? {} : { nextWarmAt: entry.nextWarmAt }),
          ...(entry.stopped === undefined ? {} : { stopped: entry.stopped }),
        }),
      )
      tracked.sort((a, b) => b.lastActivity - a.lastActivity)
      return {
        enabled: settings.enabled,
        subagents: settings.subagents,
        tracked,
        ...(lastWarm === undefined ? {} : { lastWarm }),
      }
    })

    return KeepWarm.of({ track, untrack, status })
  })

  /** scoped: every timer stops when the layer's scope closes */
  static readonly layer = (options: KeepWarmOptions): Layer.Layer<KeepWarm, never, Logger> =>
    Layer.effect(KeepWarm, KeepWarm.make(options))
}
