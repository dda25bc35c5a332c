/**
 * The TUI entry (`exports["./tui"]`, listed in tui.json). It runs on OpenCode's main thread and shares no
 * memory with the server part: they meet through `openai-auth.json`, `openai-auth-state.json` beside it, the
 * pid marker and toasts (opencode-host.md §1.5, §7).
 *
 * - Seven palette commands `openai.<name>.dialog` (no slashName: the server owns `/openai-<name>` and opens
 *   these dialogs by publishing `tui.command.execute`).
 * - A best-effort Enter interceptor (§7.5) so `/openai-<name> [args]` typed in the prompt is handled here in
 *   one keystroke with no model call and no new session. It relies on keymap and renderer APIs that are not
 *   part of the plugin contract; when it does not fire (rebound submit, a host change) the line takes the
 *   normal path to the server command, which handles it the same way.
 * - The sidebar quota block.
 */
import { homedir } from "node:os"
import { configPath } from "@cortexkit/openai-auth-core/Settings"
import type { TuiPlugin, TuiPluginModule } from "@opencode-ai/plugin/tui"
import { applyWords, DIALOGS, type DialogContext } from "./tui/Dialogs.tsx"
import { removeTuiMarker, writeTuiMarker } from "./tui/Marker.ts"
import { makeTuiRuntime } from "./tui/Runtime.ts"
import { registerQuotaSidebar } from "./tui/Sidebar.tsx"
import { CATEGORY, COMMAND_NAMES, dialogCommandName, matchSlashLine, TITLES } from "./tui/Slash.ts"

export const PLUGIN_ID = "cortexkit-openai-auth"

const ENTER_KEYS = new Set(["return", "enter"])

const tui: TuiPlugin = async (api) => {
  // the same path Settings resolves (OPENCODE_OPENAI_AUTH_FILE, OPENCODE_CONFIG_DIR, XDG_CONFIG_HOME, ~)
  const storePath = configPath({ ...process.env }, homedir())
  writeTuiMarker(storePath)
  const runtime = makeTuiRuntime()
  const sidebar = registerQuotaSidebar(api, runtime, storePath)
  const ctx: DialogContext = { api, runtime, changed: () => void sidebar.refresh() }

  const open = (name: (typeof COMMAND_NAMES)[number]) =>
    DIALOGS[name](ctx).catch((error: unknown) =>
      api.ui.toast({
        variant: "error",
        title: "OpenAI",
        message: error instanceof Error ? error.message : String(error),
      }),
    )

  const unregisterLayer = api.keymap.registerLayer({
    commands: COMMAND_NAMES.map((name) => ({
      name: dialogCommandName(name),
      title: TITLES[name],
      desc: `/openai-${name}`,
      category: CATEGORY,
      namespace: "palette",
      run: () => {
        void open(name)
      },
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
      if (line._tag === "Bare") {
        void open(line.name)
        return
      }
      // a usage error becomes an error toast naming the expected form
      void applyWords(ctx, line.name, line.args)
    },
    { priority: 10 },
  )

  void sidebar.refresh()

  api.lifecycle.onDispose(async () => {
    unintercept()
    unregisterLayer()
    sidebar.stop()
    removeTuiMarker(storePath)
    await runtime.dispose()
  })
}

const plugin: TuiPluginModule & { readonly id: string } = { id: PLUGIN_ID, tui }

export default plugin
