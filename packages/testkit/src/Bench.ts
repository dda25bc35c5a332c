/**
 * Helpers for `bun run bench`. Every figure is measured side by side with its baseline in the same run, so
 * that ratios, not absolute times, carry the targets (the machine's speed cancels out).
 */

export interface Figure {
  /** short machine-friendly key, unique within the bench, e.g. `rewrite_10kb_ratio` */
  readonly key: string
  readonly label: string
  readonly value: number
  readonly unit: string
  /** human-readable target, e.g. `<= 1.5` */
  readonly target?: string
  /** whether the target holds (absent when there is no target) */
  readonly ok?: boolean
}

export interface BenchReport {
  readonly name: string
  readonly figures: ReadonlyArray<Figure>
  readonly notes?: ReadonlyArray<string>
}

/** A bench module default-exports one of these. */
export type Bench = () => Promise<BenchReport>

export const median = (values: ReadonlyArray<number>): number => percentile(values, 50)

export const percentile = (values: ReadonlyArray<number>, p: number): number => {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[index] as number
}

/** Runs `fn` `warmup` times unmeasured, then `samples` times, and returns each sample's duration in ms. */
export const sample = async (
  fn: () => unknown | Promise<unknown>,
  options: { readonly samples: number; readonly warmup?: number },
): Promise<Array<number>> => {
  for (let i = 0; i < (options.warmup ?? Math.ceil(options.samples / 5)); i++) await fn()
  const out: Array<number> = []
  for (let i = 0; i < options.samples; i++) {
    const start = performance.now()
    await fn()
    out.push(performance.now() - start)
  }
  return out
}

/**
 * Measures two functions interleaved (a, b, a, b, ...) so that drift in machine load hits both equally, and
 * returns both medians and `candidate / baseline`.
 */
export const compare = async (
  baseline: () => unknown | Promise<unknown>,
  candidate: () => unknown | Promise<unknown>,
  options: { readonly samples: number; readonly warmup?: number },
): Promise<{ baseline: number; candidate: number; ratio: number }> => {
  for (let i = 0; i < (options.warmup ?? Math.ceil(options.samples / 5)); i++) {
    await baseline()
    await candidate()
  }
  const a: Array<number> = []
  const b: Array<number> = []
  for (let i = 0; i < options.samples; i++) {
    let start = performance.now()
    await baseline()
    a.push(performance.now() - start)
    start = performance.now()
    await candidate()
    b.push(performance.now() - start)
  }
  const base = median(a)
  const cand = median(b)
  return { baseline: base, candidate: cand, ratio: cand / base }
}

export const figure = (
  key: string,
  label: string,
  value: number,
  unit: string,
  target?: { readonly text: string; readonly holds: (v: number) => boolean },
): Figure =>
  target === undefined
    ? { key, label, value, unit }
    : { key, label, value, unit, target: target.text, ok: target.holds(value) }

export const atMost = (limit: number) => ({ text: `<= ${limit}`, holds: (v: number) => v <= limit })
export const atLeast = (limit: number) => ({ text: `>= ${limit}`, holds: (v: number) => v >= limit })
