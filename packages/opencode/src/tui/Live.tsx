/**
 * The heavy half of the TUI entry: the store runtime (Effect, the accounts services), the dialogs and the
 * sidebar. `tui.tsx` imports this module in the background after registering its commands, because loading
 * this graph through the host's module loader takes seconds (tens of seconds on a busy machine) and OpenCode
 * shows no prompt until every TUI plugin's `tui()` has returned.
 */
import { homedir } from "node:os"
import type { CommandName } from "@cortexkit/openai-auth-accounts/CommandSyntax"
import { configPath } from "@cortexkit/openai-auth-core/Settings"
import type { TuiPluginApi } from "@opencode-ai/plugin/tui"
import { openCodeSettings } from "../OpenCodeHost.ts"
import { applyWords, DIALOGS, type DialogContext } from "./Dialogs.tsx"
import { removeTuiMarker, writeTuiMarker } from "./Marker.ts"
import { makeQuotaPolls } from "./QuotaPolls.ts"
import { makeTuiRuntime } from "./Runtime.ts"
import { registerQuotaSidebar } from "./Sidebar.tsx"

export interface Live {
  /** opens the `/openai-<name>` dialog; failures become an error toast */
  readonly open: (name: CommandName) => Promise<void>
  /** applies `/openai-<name> args`; a usage error becomes an error toast */
  readonly apply: (name: CommandName, args: ReadonlyArray<string>) => Promise<void>
  readonly dispose: () => Promise<void>
}

export const startLive = (api: TuiPluginApi): Live => {
  // the same path Settings resolves (OPENCODE_OPENAI_AUTH_FILE, OPENCODE_CONFIG_DIR, XDG_CONFIG_HOME, ~)
  const storePath = configPath(openCodeSettings({ ...process.env }), homedir())
  writeTuiMarker(storePath)
  const runtime = makeTuiRuntime()
  const sidebar = registerQuotaSidebar(api, runtime, storePath)
  const changed = () => void sidebar.refresh()
  const ctx: DialogContext = { api, runtime, changed, quota: makeQuotaPolls(runtime.pollQuota, changed) }
  void sidebar.refresh()
  return {
    open: (name) =>
      DIALOGS[name](ctx).catch((error: unknown) =>
        api.ui.toast({
          variant: "error",
          title: "OpenAI",
          message: error instanceof Error ? error.message : String(error),
        }),
      ),
    apply: (name, args) => applyWords(ctx, name, args),
    dispose: async () => {
      sidebar.stop()
      removeTuiMarker(storePath)
      await runtime.dispose()
    },
  }
}
