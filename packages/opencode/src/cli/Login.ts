/**
 * `openai-auth login`: the browser (PKCE) flow through the loopback callback server, or the device-code flow
 * with `--headless`. Instructions go through `say`; tokens never do.
 */
import { spawn } from "node:child_process"
import { authorizeBrowser, type CallbackServer } from "@cortexkit/openai-auth-core/CallbackServer"
import { DeviceFlow } from "@cortexkit/openai-auth-core/DeviceFlow"
import { printableLine } from "@cortexkit/openai-auth-core/Printable"
import { Settings } from "@cortexkit/openai-auth-core/Settings"
import type { TokenClient } from "@cortexkit/openai-auth-core/TokenClient"
import { Effect } from "effect"
import type { Env } from "./Runtime.ts"

/** the command that opens a URL here, or undefined on a machine with no display */
export const browserOpener = (
  env: Env,
  platform: NodeJS.Platform = process.platform,
): ReadonlyArray<string> | undefined => {
  if (platform === "darwin") return ["open"]
  if (platform === "win32") return ["cmd", "/c", "start", ""]
  const display = (env.DISPLAY ?? "") !== "" || (env.WAYLAND_DISPLAY ?? "") !== ""
  return display ? ["xdg-open"] : undefined
}

const openWith = (command: ReadonlyArray<string>) => (url: string) =>
  Effect.sync(() => {
    const [bin, ...args] = command as [string, ...Array<string>]
    const child = spawn(bin, [...args, url], { detached: true, stdio: "ignore" })
    // a missing xdg-open is not a failed login: the URL is printed anyway
    child.on("error", () => {})
    child.unref()
  })

export const loginFlow = (options: {
  readonly headless: boolean
  readonly env: Env
  readonly say: (line: string) => void
}) =>
  Effect.gen(function* () {
    const settings = yield* Settings
    if (options.headless) {
      const flow = yield* DeviceFlow
      const code = yield* flow.start({ issuer: settings.issuer })
      options.say(
        `To sign in, open ${printableLine(code.verificationUrl)} in any browser and enter the code: ${printableLine(code.userCode)}`,
      )
      options.say("Waiting for approval (the code is valid for 15 minutes)...")
      return yield* flow.poll(code)
    }
    const opener = browserOpener(options.env)
    const auth = yield* authorizeBrowser({
      issuer: settings.issuer,
      ...(opener === undefined ? {} : { openUrl: openWith(opener) }),
    })
    options.say(`Open this URL in a browser to sign in${opener === undefined ? "" : " (opening it now)"}:`)
    options.say(auth.url)
    options.say(`Waiting for the sign-in to finish (callback on ${auth.redirectUri})...`)
    return yield* auth.waitForTokens
  }).pipe(Effect.scoped)

export type LoginRequirements = Settings | DeviceFlow | CallbackServer | TokenClient
