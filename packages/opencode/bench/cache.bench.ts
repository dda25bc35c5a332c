/**
 * Prompt-cache stability: a synthetic 60-turn coding session with tool calls through the real pipeline
 * against the simulator (whose cached tokens are the longest common prefix with earlier prompts of the same
 * `prompt_cache_key`), with the stabilizer (default) and without (`CORTEXKIT_OPENAI_AUTH_NO_WEB_SEARCH=1`).
 */
import { atLeast, type Bench, figure, median } from "@cortexkit/openai-auth-testkit/Bench"
import { runSession, type SessionResult } from "./support/session.ts"

const TURNS = 60

const bench: Bench = async () => {
  const variants: Array<[string, string, Record<string, string>]> = [
    ["stabilized", "stabilizer on", {}],
    ["unstabilized", "stabilizer off", { CORTEXKIT_OPENAI_AUTH_NO_WEB_SEARCH: "1" }],
  ]
  const figures = []
  const notes: Array<string> = []
  for (const [key, label, env] of variants) {
    const r: SessionResult = await runSession(TURNS, env)
    const later = r.cachedRatios.slice(1)
    figures.push(
      figure(
        `${key}_stable_share`,
        `${label}: continuations extending the previous request`,
        r.stable / r.continuations,
        "share",
        atLeast(1),
      ),
      figure(
        `${key}_full_prefix_hits`,
        `${label}: continuations hitting the whole previous prompt`,
        r.fullPrefixHits / r.continuations,
        "share",
        atLeast(1),
      ),
      figure(
        `${key}_cached_ratio_median`,
        `${label}: cached / input tokens (median, turns 2+)`,
        median(later),
        "share",
      ),
      figure(
        `${key}_cached_ratio_min`,
        `${label}: cached / input tokens (lowest, turns 2+)`,
        Math.min(...later),
        "share",
      ),
    )
    notes.push(
      `${label}: ${r.turns} turns; cached ratio per turn: ${r.cachedRatios.map((x) => x.toFixed(2)).join(" ")}${
        r.firstUnstable === undefined ? "" : `; first break: ${r.firstUnstable}`
      }`,
    )
  }
  return { name: "cache", figures, notes }
}

export default bench
