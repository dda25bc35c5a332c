/**
 * The commands that show or change a setting kept in the store (routing, killswitch, keep-warm, logging,
 * dumps): split from `Commands.ts`, whose service exposes them beside the account commands.
 */

import { Logger } from "@cortexkit/openai-auth-core/Logger"
import { Clock, Effect, Option } from "effect"
import type { LogLevelName } from "./CommandSyntax.ts"
import {
  type CacheKeepData,
  type CommandResult,
  flag,
  type KillswitchData,
  onOff,
  resolveKey,
  thresholdText,
} from "./CommandViews.ts"
import { formatDuration } from "./Format.ts"
import { setOwn } from "./Migrations.ts"
import type { RoutingMode, Threshold } from "./Routing.ts"
import { dumpInEffect, logLevelInEffect } from "./SettingsInEffect.ts"
import { StateFile } from "./StateFile.ts"
import { Store } from "./Store.ts"
import type { StoreDocument } from "./StoreSchema.ts"

export const makeSettingsCommands = Effect.gen(function* () {
  const store = yield* Store
  const routingShow = Effect.fn("Commands.routingShow")(function* () {
    const doc = yield* store.read
    return { summary: `routing: ${doc.routing}`, data: { routing: doc.routing } }
  })

  const routingSet = Effect.fn("Commands.routingSet")(function* (mode: RoutingMode) {
    yield* store.update((doc) => ({ ...doc, routing: mode }))
    return { summary: `routing set to ${mode}`, data: { routing: mode } }
  })

  const killswitchResult = (doc: StoreDocument, prefix: string): CommandResult<KillswitchData> => {
    const entries = Object.entries(doc.killswitch.thresholds)
    const list = entries.length === 0 ? "no thresholds" : entries.map(([k, t]) => thresholdText(k, t)).join(" ")
    return {
      summary: `${prefix}killswitch ${onOff(doc.killswitch.enabled)}; ${list}`,
      data: { enabled: doc.killswitch.enabled, thresholds: doc.killswitch.thresholds },
    }
  }

  const killswitchShow = Effect.fn("Commands.killswitchShow")(function* () {
    return killswitchResult(yield* store.read, "")
  })

  const killswitchEnable = Effect.fn("Commands.killswitchEnable")(function* (enabled: boolean) {
    const doc = yield* store.update((d) => ({ ...d, killswitch: { ...d.killswitch, enabled } }))
    return killswitchResult(doc, enabled ? "turned on: " : "turned off: ")
  })

  const killswitchSet = Effect.fn("Commands.killswitchSet")(function* (
    thresholds: Readonly<Record<string, Threshold>>,
  ) {
    const doc = yield* store.update((d) =>
      Effect.gen(function* () {
        const next: Record<string, Threshold> = { ...d.killswitch.thresholds }
        for (const [name, threshold] of Object.entries(thresholds)) {
          setOwn(next, name === "*" ? "*" : yield* resolveKey(d, name), threshold)
        }
        return { ...d, killswitch: { ...d.killswitch, thresholds: next } }
      }),
    )
    return killswitchResult(doc, "thresholds set: ")
  })

  const cacheKeepResult = Effect.fnUntraced(function* (doc: StoreDocument, prefix: string) {
    const state = yield* Effect.serviceOption(StateFile)
    const keepWarm = Option.isSome(state) ? (yield* state.value.read).keepWarm : undefined
    const now = yield* Clock.currentTimeMillis
    const { enabled, subagents } = doc.cacheKeep
    const parts = [`${prefix}cache keep-warm ${onOff(enabled)}`, `subagents ${onOff(subagents)}`]
    if (keepWarm !== undefined) parts.push(`${keepWarm.tracked} sessions tracked`)
    const last = keepWarm?.lastWarm
    if (last !== undefined) {
      parts.push(
        `last warm ${formatDuration(now - last.at)} ago: ${last.cachedTokens}/${last.inputTokens} input tokens cached, ${last.outputTokens} output`,
      )
    }
    const data: CacheKeepData = { enabled, subagents, tracked: keepWarm?.tracked, lastWarm: last }
    return { summary: parts.join(", "), data } satisfies CommandResult<CacheKeepData>
  })

  const cacheKeepShow = Effect.fn("Commands.cacheKeepShow")(function* () {
    return yield* cacheKeepResult(yield* store.read, "")
  })

  const cacheKeepEnable = Effect.fn("Commands.cacheKeepEnable")(function* (enabled: boolean) {
    const doc = yield* store.update((d) => ({ ...d, cacheKeep: { ...d.cacheKeep, enabled } }))
    return yield* cacheKeepResult(doc, "")
  })

  const cacheKeepSubagents = Effect.fn("Commands.cacheKeepSubagents")(function* (subagents: boolean) {
    const doc = yield* store.update((d) => ({ ...d, cacheKeep: { ...d.cacheKeep, subagents } }))
    return yield* cacheKeepResult(doc, "")
  })

  const loggingShow = Effect.fn("Commands.loggingShow")(function* () {
    const doc = yield* store.read
    const logger = yield* Effect.serviceOption(Logger)
    const live = Option.isSome(logger) ? yield* logger.value.level : undefined
    const saved = doc.logLevel ?? undefined
    const effect = yield* logLevelInEffect(doc, saved ?? "info")
    const level = effect.overriddenBy === undefined ? (live ?? saved ?? "info") : effect.value
    const why =
      effect.overriddenBy !== undefined
        ? ` (${effect.overriddenBy} overrides the file's ${saved ?? "info"})`
        : saved === undefined
          ? " (default)"
          : ""
    return { summary: `log level: ${level}${why}`, data: { level, saved, overriddenBy: effect.overriddenBy } }
  })

  const loggingSet = Effect.fn("Commands.loggingSet")(function* (level: LogLevelName) {
    const doc = yield* store.update((d) => ({ ...d, logLevel: level }))
    const effect = yield* logLevelInEffect(doc, level)
    if (effect.overriddenBy !== undefined) {
      // the environment wins over the file: the level in effect stays what it says
      return {
        summary: `log level set to ${level} in the file, but ${effect.overriddenBy} keeps it at ${effect.value}`,
        data: { level: effect.value, saved: level, overriddenBy: effect.overriddenBy },
      }
    }
    const logger = yield* Effect.serviceOption(Logger)
    if (Option.isSome(logger)) yield* logger.value.setLevel(level)
    return { summary: `log level set to ${level}`, data: { level, saved: level } }
  })

  const dumpShow = Effect.fn("Commands.dumpShow")(function* () {
    const doc = yield* store.read
    const saved = flag(doc.dump)
    const effect = yield* dumpInEffect(doc, saved)
    const why =
      effect.overriddenBy === undefined ? "" : ` (${effect.overriddenBy} overrides the file's ${onOff(saved)})`
    return {
      summary: `request dumps ${onOff(effect.value)}${why}`,
      data: { enabled: effect.value, saved, overriddenBy: effect.overriddenBy },
    }
  })

  const dumpEnable = Effect.fn("Commands.dumpEnable")(function* (enabled: boolean) {
    const doc = yield* store.update((d) => ({ ...d, dump: enabled }))
    const effect = yield* dumpInEffect(doc, enabled)
    if (effect.overriddenBy !== undefined) {
      return {
        summary: `request dumps turned ${onOff(enabled)} in the file, but ${effect.overriddenBy} keeps them ${onOff(effect.value)}`,
        data: { enabled: effect.value, saved: enabled, overriddenBy: effect.overriddenBy },
      }
    }
    return { summary: `request dumps turned ${onOff(enabled)}`, data: { enabled, saved: enabled } }
  })

  return {
    routingShow,
    routingSet,
    killswitchShow,
    killswitchEnable,
    killswitchSet,
    cacheKeepShow,
    cacheKeepEnable,
    cacheKeepSubagents,
    loggingShow,
    loggingSet,
    dumpShow,
    dumpEnable,
  }
})
