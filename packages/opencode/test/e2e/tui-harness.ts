/**
 * Drives the real `opencode` TUI inside a detached tmux session on a private tmux socket: keys go in with
 * `send-keys`, the screen comes out as plain text with `capture-pane -p`. Waiting is always polling the screen
 * against a bounded deadline, and every timeout error carries the last screen so a failure says what was on it.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { opencodeBinary, PLUGIN_DIR, type Sandbox } from "./harness.ts"

const POLL_MS = 100

export const tmuxAvailable = (): boolean => Bun.which("tmux") !== null

export interface Tui {
  /** the visible screen, one line per row, trailing blanks trimmed */
  screen(): Promise<string>
  /** types `text` literally (no key names) */
  type(text: string): Promise<void>
  /** sends tmux key names: `Enter`, `Escape`, `C-p` … */
  keys(...names: ReadonlyArray<string>): Promise<void>
  /** polls the screen until `test` holds; rejects with the last screen when `timeoutMs` passes */
  waitFor(what: string, test: (screen: string) => boolean, timeoutMs?: number): Promise<string>
  /** kills the tmux server (and with it OpenCode) */
  close(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

const run = async (argv: ReadonlyArray<string>, env?: Record<string, string>): Promise<string> => {
  const proc = Bun.spawn([...argv], { stdin: "ignore", stdout: "pipe", stderr: "pipe", ...(env ? { env } : {}) })
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ])
  if (code !== 0) throw new Error(`${argv.join(" ")} exited ${code}: ${err}`)
  return out
}

/**
 * Lists both plugin parts for the sandbox: the server part is already in the project's `opencode.json`
 * (harness); the TUI part goes into the global config dir's `tui.json`, which the harness has pre-seeded, so
 * OpenCode does not try to install `@opencode-ai/plugin` for it. Also pins the default model so the prompt
 * is usable without a model picker.
 */
export const configureTui = (box: Sandbox, model = "openai/gpt-5.5"): void => {
  const configDir = join(box.env.XDG_CONFIG_HOME as string, "opencode")
  mkdirSync(configDir, { recursive: true })
  writeFileSync(join(configDir, "tui.json"), JSON.stringify({ plugin: [`file://${PLUGIN_DIR}`] }))
  writeFileSync(
    join(box.project, "opencode.json"),
    JSON.stringify({
      $schema: "https://opencode.ai/config.json",
      share: "disabled",
      autoupdate: false,
      model,
      plugin: [`file://${PLUGIN_DIR}`],
    }),
  )
}

/** Starts `opencode` (the TUI) in the sandbox's project in a `columns`x`rows` tmux window. */
export const startTui = async (
  box: Sandbox,
  options: { readonly columns?: number; readonly rows?: number; readonly env?: Record<string, string> } = {},
): Promise<Tui> => {
  const socket = join(box.root, "tmux.sock")
  const conf = join(box.root, "tmux.conf")
  // keep the pane after OpenCode exits so a crash leaves its last words on screen
  writeFileSync(conf, "set -g remain-on-exit on\nset -g history-limit 2000\n")
  const env = { ...box.env, ...options.env, TERM: "xterm-256color", COLORTERM: "truecolor" }
  const tmux = (...args: ReadonlyArray<string>) => run(["tmux", "-S", socket, "-f", conf, ...args], env)
  const target = "oc"
  await tmux(
    "new-session",
    "-d",
    "-s",
    target,
    "-x",
    String(options.columns ?? 160),
    "-y",
    String(options.rows ?? 48),
    "-c",
    box.project,
    opencodeBinary(),
  )
  let closed = false
  const screen = async () =>
    (await tmux("capture-pane", "-p", "-t", target))
      .split("\n")
      .map((l) => l.trimEnd())
      .join("\n")
      .trimEnd()
  const close = async () => {
    if (closed) return
    closed = true
    await tmux("kill-server").catch(() => undefined)
  }
  return {
    screen,
    type: async (text) => void (await tmux("send-keys", "-t", target, "-l", text)),
    keys: async (...names) => void (await tmux("send-keys", "-t", target, ...names)),
    waitFor: async (what, test, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs
      let last = ""
      for (;;) {
        last = await screen()
        if (test(last)) return last
        if (Date.now() >= deadline) {
          throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the screen was:\n${last}`)
        }
        await Bun.sleep(POLL_MS)
      }
    },
    close,
    [Symbol.asyncDispose]: close,
  }
}

const settles = (tui: Tui, what: string, test: (screen: string) => boolean, timeoutMs: number) =>
  tui.waitFor(what, test, timeoutMs).then(
    () => true,
    () => false,
  )

/**
 * Waits until the home prompt takes keys: on a busy machine it is drawn (placeholder "Ask anything") before
 * it has focus, and keys sent then are lost. Probes with one key until it shows, then erases it.
 */
export const waitForPromptInput = async (tui: Tui, timeoutMs = 60_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    await tui.type("x")
    if (await settles(tui, "the probe key in the prompt", (s) => !s.includes("Ask anything"), 3_000)) break
    if (Date.now() >= deadline)
      throw new Error(`the prompt took no keys within ${timeoutMs} ms:\n${await tui.screen()}`)
  }
  for (let i = 0; i < 20; i++) {
    await tui.keys("BSpace")
    if (await settles(tui, "the empty prompt", (s) => s.includes("Ask anything"), 1_000)) return
  }
  throw new Error(`the probe key could not be erased:\n${await tui.screen()}`)
}
