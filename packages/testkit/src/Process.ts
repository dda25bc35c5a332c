/**
 * Runs a command to its end and collects what it printed, for tests that drive real processes (an installed
 * bin, `npm install`, a host under Node). A process still running after `timeoutMs` is killed, so a hung child
 * fails its test instead of the whole run.
 */
export interface ProcessResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export interface ProcessOptions {
  readonly cwd: string
  /** added to the current environment */
  readonly env?: Readonly<Record<string, string>>
  /** default 90 s */
  readonly timeoutMs?: number
}

export const runProcess = async (cmd: ReadonlyArray<string>, options: ProcessOptions): Promise<ProcessResult> => {
  const proc = Bun.spawn([...cmd], {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  })
  const timer = setTimeout(() => proc.kill(), options.timeoutMs ?? 90_000)
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  clearTimeout(timer)
  return { code, stdout, stderr }
}
