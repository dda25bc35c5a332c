/**
 * The TUI entry (`exports["./tui"]`, listed in tui.json). It runs on OpenCode's main thread and shares no
 * memory with the server part: they meet through `openai-auth.json`, `openai-auth-state.json` beside it, the
 * pid marker and toasts (OpenCode 1.18.33 gives the two entries no channel of their own).
 *
 * - Seven palette commands `openai.<name>.dialog` (no slashName: the server owns `/openai-<name>` and opens
 *   these dialogs by publishing `tui.command.execute`).
 * - A best-effort Enter interceptor (a TUI keymap runs before OpenCode's own prompt handling) so
 *   `/openai-<name> [args]` typed in the prompt is handled here in one keystroke with no model call and no new session. It relies on keymap and renderer APIs that are not
 *   part of the plugin contract; when it does not fire (rebound submit, a host change) the line takes the
 *   normal path to the server command, which handles it the same way.
 * - The sidebar quota block.
 *
 * This file stays light: OpenCode shows no prompt until `tui()` returns, so the store runtime, dialogs and
 * sidebar (`tui/Live.tsx`, the Effect graph) load in the background and commands wait for them.
 */
import type { TuiPlugin, TuiPluginModule } from "@opencode-ai/plugin/tui"
import type { Live } from "./tui/Live.tsx"
import { CATEGORY, COMMAND_NAMES, dialogCommandName, matchSlashLine, TITLES } from "./tui/Slash.ts"

export const PLUGIN_ID = "cortexkit-openai-auth"

const ENTER_KEYS = new Set(["return", "enter"])

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error))

const tui: TuiPlugin = async (api) => {
  const live: Promise<Live> = import("./tui/Live.tsx").then((m) => m.startLive(api))
  live.catch((error: unknown) =>
    api.ui.toast({
      variant: "error",
      title: "OpenAI",
      message: `the OpenAI plugin failed to load: ${messageOf(error)}`,
    }),
  )
  const withLive = (f: (l: Live) => Promise<void>) => {
    live.then(f).catch(() => {
      // the load failure was already reported once
    })
  }

  const unregisterLayer = api.keymap.registerLayer({
    commands: COMMAND_NAMES.map((name) => ({
      name: dialogCommandName(name),
      title: TITLES[name],
      desc: `/openai-${name}`,
      category: CATEGORY,
      namespace: "palette",
      run: () => withLive((l) => l.open(name)),
    })),
  })

  const unintercept = api.keymap.intercept(
    "key",
    (key) => {
      const event = key.event
      if (!ENTER_KEYS.has(event.name) || event.ctrl || event.meta || event.shift || event.option) return
      if (api.ui.dialog.open) return
      const editor = api.renderer.currentFocusedEditor
      if (editor === null || editor === undefined) return
      const line = matchSlashLine(editor.plainText)
      if (line === undefined) return
      key.consume()
      editor.setText("")
      withLive((l) => (line._tag === "Bare" ? l.open(line.name) : l.apply(line.name, line.args)))
    },
    { priority: 10 },
  )

  api.lifecycle.onDispose(async () => {
    unintercept()
    unregisterLayer()
    await live.then((l) => l.dispose()).catch(() => undefined)
  })
}

const plugin: TuiPluginModule & { readonly id: string } = { id: PLUGIN_ID, tui }

export default plugin
