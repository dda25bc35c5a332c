/**
 * The sidebar quota block: the account in use, its 5h and weekly used %, reset countdown and pacing. The
 * store and the state file are written by the server part in another thread, so this re-reads them when they
 * change (fs.watch plus a periodic stat) and keeps the result in a Solid signal; the same tick moves the
 * countdowns. Hidden until the account has a quota reading.
 */
import { basename, dirname } from "node:path"
import { STATE_FILE_NAME } from "@cortexkit/openai-auth-accounts/StateFile"
import type { TuiPluginApi } from "@opencode-ai/plugin/tui"
import { type Accessor, createSignal, For, Show } from "solid-js"
import { type SidebarModel, sidebarModel } from "./QuotaView.ts"
import type { TuiRuntime } from "./Runtime.ts"
import { watchFiles } from "./Watch.ts"

export const SIDEBAR_ORDER = 150
export const POLL_MS = 3000

export interface QuotaSidebar {
  /** re-read both files now */
  readonly refresh: () => Promise<void>
  readonly stop: () => void
}

export const registerQuotaSidebar = (api: TuiPluginApi, runtime: TuiRuntime, storePath: string): QuotaSidebar => {
  const [model, setModel] = createSignal<SidebarModel | undefined>(undefined)
  let last: Extract<Awaited<ReturnType<TuiRuntime["snapshot"]>>, { readonly doc: unknown }> | undefined
  const recompute = () => {
    if (last !== undefined) setModel(sidebarModel(last.doc, last.state, Date.now()))
  }
  const refresh = async () => {
    const snap = await runtime.snapshot()
    // an unreadable store keeps the last good reading on screen
    if ("error" in snap) return
    last = snap
    recompute()
  }
  const stop = watchFiles(dirname(storePath), [basename(storePath), STATE_FILE_NAME], () => void refresh(), {
    intervalMs: POLL_MS,
    onTick: recompute,
  })

  api.slots.register({
    order: SIDEBAR_ORDER,
    slots: {
      sidebar_content(ctx) {
        const theme = ctx.theme.current
        return (
          <Show when={model()}>
            {(m: Accessor<SidebarModel>) => (
              <box flexDirection="column">
                <text fg={theme.text}>
                  {`ChatGPT quota: ${m().name}${m().served ? "" : " (selected)"}${m().limitReached ? " - limit reached" : ""}`}
                </text>
                <For each={m().windows}>
                  {(w) => (
                    <box flexDirection="column">
                      <text
                        fg={w.warn ? theme.warning : theme.text}
                      >{`${w.label} ${w.used} used, ${w.countdown}`}</text>
                      <Show when={w.pace}>
                        {(p: Accessor<string>) => (
                          <text fg={w.warn ? theme.warning : theme.textMuted}>{`  ${p()}`}</text>
                        )}
                      </Show>
                    </box>
                  )}
                </For>
                <text fg={theme.textMuted}>{`read ${m().age} ago`}</text>
              </box>
            )}
          </Show>
        )
      },
    },
  })
  return { refresh, stop }
}
