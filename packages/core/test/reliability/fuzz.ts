/**
 * The reliability suite's fuzz driver: fast-check with an explicit run count and seed, a time bound on every
 * case (a parser that goes quadratic or loops shows up as a slow case, not as a stuck CI job), and one summary
 * line per target. `FUZZ_SEED=<n>` replays a run; fast-check prints the seed and the shrunk `path` on failure.
 */

import { concatBytes, splitAt } from "@cortexkit/openai-auth-testkit/Bytes"
import fc from "fast-check"

// the byte helpers live in the testkit; re-exported for the fuzz suites that import them from here
export { concatBytes, splitAt }

export type Outcome = "value" | "error"

export interface FuzzOptions {
  readonly numRuns: number
  /** a case slower than this fails the property (default 1000 ms: a hang, not noise) */
  readonly maxMsPerCase?: number
}

export const fuzzSeed = (): number => {
  const fromEnv = Number(process.env.FUZZ_SEED)
  return Number.isInteger(fromEnv) && process.env.FUZZ_SEED !== ""
    ? fromEnv
    : (Date.now() ^ (Math.random() * 0x7fffffff)) | 0
}

/**
 * Runs `check` on `numRuns` generated inputs. `check` returns whether the input ended in a value or in a clear
 * error; anything it throws (or an assertion it fails) is a counterexample.
 */
export const fuzz = <T>(target: string, arb: fc.Arbitrary<T>, check: (input: T) => Outcome, options: FuzzOptions) => {
  const bound = options.maxMsPerCase ?? 1000
  const seed = fuzzSeed()
  let values = 0
  let errors = 0
  let slowest = 0
  const started = performance.now()
  fc.assert(
    fc.property(arb, (input) => {
      const t0 = performance.now()
      const outcome = check(input)
      const ms = performance.now() - t0
      if (ms > bound) throw new Error(`${target}: one case took ${ms.toFixed(0)} ms (bound ${bound} ms)`)
      if (ms > slowest) slowest = ms
      if (outcome === "value") values++
      else errors++
    }),
    { numRuns: options.numRuns, seed },
  )
  const total = performance.now() - started
  console.log(
    `[fuzz] ${target}: ${options.numRuns} cases (seed ${seed}) -> ${values} values, ${errors} clear errors, 0 throws; ` +
      `slowest case ${slowest.toFixed(2)} ms, total ${(total / 1000).toFixed(2)} s`,
  )
  return { values, errors, slowest }
}

const enc = new TextEncoder()

/** bytes built from protocol-looking tokens and raw noise: reaches deeper states than uniform bytes */
export const tokenBytes = (tokens: ReadonlyArray<string>, maxTokens = 40): fc.Arbitrary<Uint8Array> =>
  fc
    .array(
      fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...tokens).map((t) => enc.encode(t)) },
        { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 8 }).map((s) => enc.encode(s)) },
        { weight: 1, arbitrary: fc.uint8Array({ maxLength: 8 }) },
      ),
      { maxLength: maxTokens },
    )
    .map(concatBytes)
