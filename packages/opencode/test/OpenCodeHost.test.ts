/**
 * The names and identity the OpenCode plugin hands to the libraries are exactly the ones
 * README.md ("Configuration") promises: the libraries know none of them, so this is where they are checked.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test"
import { join } from "node:path"
import { configPath, resolveSettings } from "@cortexkit/openai-auth-core/Settings"
import { type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { Result } from "effect"
import { HostStore, tempDir } from "../../accounts/test/support/fixture.ts"
import { OPENCODE_IDENTITY, OPENCODE_SETTINGS, openCodeSettings } from "../src/OpenCodeHost.ts"
import { makeFetch } from "../src/Pipeline.ts"
import { makeRuntime } from "../src/Runtime.ts"

describe("OpenCode's settings names (README.md, Configuration)", () => {
  test("every variable", () => {
    expect(OPENCODE_SETTINGS.env).toEqual({
      configFile: "OPENCODE_OPENAI_AUTH_FILE",
      noWebSearch: "CORTEXKIT_OPENAI_AUTH_NO_WEB_SEARCH",
      webSockets: "CORTEXKIT_OPENAI_AUTH_WEBSOCKETS",
      rawWebSocket: "CORTEXKIT_OPENAI_AUTH_RAW_WS",
      dump: "CORTEXKIT_OPENAI_AUTH_DUMP",
      dumpDir: "OPENCODE_OPENAI_AUTH_DUMP_DIR",
      codexApiEndpoint: "CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT",
      issuer: "CORTEXKIT_OPENAI_AUTH_ISSUER",
      usageEndpoint: "CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT",
      codexVersion: "CORTEXKIT_OPENAI_AUTH_CODEX_VERSION",
      logLevel: "OPENCODE_OPENAI_AUTH_LOG_LEVEL",
      logFile: "OPENCODE_OPENAI_AUTH_LOG_FILE",
    })
  })

  test("the config file: OPENCODE_OPENAI_AUTH_FILE, else $OPENCODE_CONFIG_DIR, else $XDG_CONFIG_HOME/opencode, else ~/.config/opencode", () => {
    const home = "/home/u"
    const all = {
      OPENCODE_OPENAI_AUTH_FILE: "/explicit/auth.json",
      OPENCODE_CONFIG_DIR: "/cfg",
      XDG_CONFIG_HOME: "/xdg",
    }
    expect(configPath(openCodeSettings(all), home)).toBe("/explicit/auth.json")
    expect(configPath(openCodeSettings({ ...all, OPENCODE_OPENAI_AUTH_FILE: undefined }), home)).toBe(
      "/cfg/openai-auth.json",
    )
    expect(configPath(openCodeSettings({ OPENCODE_CONFIG_DIR: "/cfg/" }), home)).toBe("/cfg/openai-auth.json")
    expect(configPath(openCodeSettings({ XDG_CONFIG_HOME: "/xdg" }), home)).toBe("/xdg/opencode/openai-auth.json")
    expect(configPath(openCodeSettings({}), home)).toBe("/home/u/.config/opencode/openai-auth.json")
    expect(configPath(openCodeSettings({ OPENCODE_CONFIG_DIR: "" }), home)).toBe(
      "/home/u/.config/opencode/openai-auth.json",
    )
    expect(configPath(openCodeSettings({ OPENCODE_CONFIG_DIR: "~/oc" }), home)).toBe("/home/u/oc/openai-auth.json")
  })

  test("defaults under the OS temp dir keep OpenCode's names", () => {
    const resolved = resolveSettings(openCodeSettings({}), undefined, { tmpDir: "/tmp/t", homeDir: "/home/u" })
    if (Result.isFailure(resolved)) throw new Error(resolved.failure.message)
    expect(resolved.success.dumpDir).toBe("/tmp/t/opencode-openai-auth-dumps")
    expect(resolved.success.logFile).toBe("/tmp/t/opencode-openai-auth.log")
  })
})

describe("OpenCode's identity on the wire", () => {
  let sim: SimulatorHandle
  beforeAll(async () => {
    sim = await startSimulator()
  })
  afterAll(async () => {
    await sim.stop()
  })

  test("originator opencode; OpenCode's own User-Agent passes, a request without one gets opencode's", async () => {
    using dir = tempDir()
    const main = sim.addAccount({ accountId: "acct_identity", userId: "u_identity" })
    const runtime = makeRuntime(
      {
        OPENCODE_OPENAI_AUTH_FILE: join(dir.dir, "openai-auth.json"),
        OPENCODE_OPENAI_AUTH_LOG_FILE: join(dir.dir, "plugin.log"),
        CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
        CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
        CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
      },
      new HostStore(main).layer,
    )
    try {
      const fetch = makeFetch(runtime)
      const body = JSON.stringify({
        model: "gpt-5.5",
        instructions: "be brief",
        input: [{ role: "user", content: [{ type: "input_text", text: "hi" }] }],
        stream: true,
      })
      const ua = "opencode/1.18.33 (linux 6.8.0; x64) ai-sdk/provider-utils/4.0.40 runtime/bun/1.3.14"
      for (const headers of [{ "session-id": "ses_id_1", "user-agent": ua }, { "session-id": "ses_id_2" }]) {
        const response = await fetch("https://api.openai.com/v1/responses", { method: "POST", headers, body })
        expect(response.status).toBe(200)
        await response.text()
      }
      const sent = sim.requests.filter((r) => r.accountId === main.accountId)
      expect(sent.map((r) => r.headers.originator)).toEqual(["opencode", "opencode"])
      expect(sent.map((r) => r.headers["user-agent"])).toEqual([ua, OPENCODE_IDENTITY.userAgent])
    } finally {
      await runtime.dispose()
    }
  })
})
