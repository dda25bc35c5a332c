import { describe, expect, test } from "bun:test"
import { writeFileSync } from "node:fs"
import { join } from "node:path"
import { baseArgs, makeSandbox, responsesFor, useNetwork, writePiAuth } from "./harness.ts"

const setup = useNetwork()

describe("the real pi with the extension, offline", () => {
  test("a prompt is answered through our provider, with a tool call Pi runs in between", async () => {
    const main = setup.sim.addAccount({ accountId: "acct_pi_tool", userId: "user_pi_tool" })
    using box = makeSandbox(setup.net)
    writePiAuth(box, main)
    writeFileSync(join(box.work, "hello.txt"), "the secret word is cormorant\n")
    setup.sim.script(
      main.accountId,
      {
        reply: {
          reasoning: "I should read the file.",
          toolCalls: [{ name: "read", arguments: { path: "hello.txt" } }],
        },
      },
      { reply: { text: "The file says cormorant." } },
    )
    const result = await box.run([
      ...(await baseArgs()),
      "-p",
      "--model",
      "openai-codex/gpt-6-sol",
      "what does hello.txt say?",
    ])
    expect(result.stderr).toBe("")
    expect(result.stdout).toContain("The file says cormorant.")
    expect(result.code).toBe(0)

    const [first, second] = responsesFor(setup.sim, main.accountId)
    if (first === undefined || second === undefined) throw new Error("expected two Codex requests")
    // our rewrite ran: Codex's shape, our stabilizer, Pi's identity, the account's own token
    const body = first.body as Record<string, unknown>
    expect(typeof body.instructions).toBe("string")
    expect(body).not.toHaveProperty("max_output_tokens")
    expect(body.store).toBe(false)
    const tools = body.tools as Array<{ type: string; name?: string }>
    expect(tools.some((t) => t.type === "function" && t.name === "read")).toBe(true)
    expect(tools.filter((t) => t.type === "web_search")).toHaveLength(1)
    expect(first.headers.originator).toBe("pi")
    expect(first.headers["user-agent"]).toStartWith("pi/")
    expect(first.headers["chatgpt-account-id"]).toBe(main.accountId)
    expect(first.headers["content-encoding"]).toBeUndefined()
    // the tool ran in Pi and its output went back in the second turn
    const input = (second.body as { input: Array<Record<string, unknown>> }).input
    const output = input.find((item) => item.type === "function_call_output")
    expect(String(output?.output)).toContain("cormorant")
    expect(setup.net.outsideAttempts()).toBe(0)
  }, 90_000)
})
