/**
 * A worker process a test drives by its output: `line(pattern)` resolves with the first stdout line that
 * matches (already printed or still to come), so a test waits on what the worker says, never on the clock.
 * The generous deadline only turns a hang into a failure.
 */
import type { Subprocess } from "bun"

export interface Worker {
  readonly child: Subprocess<"ignore", "pipe", "pipe">
  readonly lines: ReadonlyArray<string>
  /** the first line matching `pattern` */
  readonly line: (pattern: RegExp, deadlineMs?: number) => Promise<string>
  /** exit code (null when killed by a signal) and everything printed on stderr */
  readonly finished: Promise<{ readonly code: number | null; readonly stderr: string }>
}

/** a `bun <script> <args>` worker */
export const startWorker = (script: string, args: ReadonlyArray<string>, env?: Record<string, string>): Worker =>
  startProcess([process.execPath, script, ...args], env === undefined ? undefined : { ...process.env, ...env })

/** any command; `env` replaces the environment when given */
export const startProcess = (command: ReadonlyArray<string>, env?: Record<string, string | undefined>): Worker => {
  const script = command.join(" ")
  const child = Bun.spawn([...command], {
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    ...(env === undefined ? {} : { env }),
  })
  const lines: Array<string> = []
  const waiters = new Set<{ readonly pattern: RegExp; readonly resolve: (line: string) => void }>()
  const pump = (async () => {
    const decoder = new TextDecoder()
    let buffered = ""
    for await (const chunk of child.stdout) {
      buffered += decoder.decode(chunk, { stream: true })
      let newline = buffered.indexOf("\n")
      while (newline >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        lines.push(line)
        for (const waiter of waiters) {
          if (waiter.pattern.test(line)) {
            waiters.delete(waiter)
            waiter.resolve(line)
          }
        }
        newline = buffered.indexOf("\n")
      }
    }
  })()
  const stderr = new Response(child.stderr).text()
  const finished = Promise.all([child.exited, stderr, pump]).then(([, text]) => ({
    code: child.exitCode,
    stderr: text,
  }))
  const line = (pattern: RegExp, deadlineMs = 120_000) => {
    const found = lines.find((l) => pattern.test(l))
    if (found !== undefined) return Promise.resolve(found)
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(waiter)
        reject(new Error(`worker ${script} printed no line matching ${pattern} (lines: ${JSON.stringify(lines)})`))
      }, deadlineMs)
      const waiter = {
        pattern,
        resolve: (l: string) => {
          clearTimeout(timer)
          resolve(l)
        },
      }
      waiters.add(waiter)
      finished.then(() => {
        if (!waiters.has(waiter)) return
        waiters.delete(waiter)
        clearTimeout(timer)
        reject(new Error(`worker ${script} ended without a line matching ${pattern} (lines: ${JSON.stringify(lines)})`))
      })
    })
  }
  return { child, lines, line, finished }
}
