/**
 * Settings names for the library's own tests: one prefix for every variable, as a host that keeps its own
 * names would have them (the OpenCode plugin's names are tested in packages/opencode).
 */
import { type Env, type SettingsSource, settingsNames } from "../../src/Settings.ts"

export const TEST_NAMES = settingsNames({
  prefix: "CORTEXKIT_OPENAI_AUTH",
  configFile: "~/.config/test-host/openai-auth.json",
  tmpName: "test-host-openai-auth",
})

export const testSource = (env: Env = {}): SettingsSource => ({ names: TEST_NAMES, env })
