/**
 * A plain Bun agent host on the CortexKit OpenAI auth facade, installed from npm with no Effect code of its
 * own and no OpenAI client library: it signs in with ChatGPT (device code), posts Responses requests with a
 * function tool through the facade's `fetch`, reads the streamed answer itself, and prints the quota of every
 * account. When the main account hits its usage limit the request moves to the fallback by itself.
 *
 * Every setting is `BUN_HOST_OPENAI_AUTH_*` (README.md); with none set it talks to the real ChatGPT backend.
 */
import { type AccountView, createCodexClient, type DeviceLogin } from "@cortexkit/openai-auth-accounts/CodexClient"

const codex = createCodexClient({
  originator: "bun_host_example",
  userAgent: "bun-host-example/0.1.0",
  settings: { prefix: "BUN_HOST_OPENAI_AUTH", configFile: "~/.config/bun-host-example/openai-auth.json" },
  onServed: ({ account, attempts }) => {
    const before = attempts.filter((a) => a.outcome !== "served").map((a) => `${a.account}: ${a.outcome}`)
    console.log(`[served by ${account}${before.length === 0 ? "" : ` after ${before.join("; ")}`}]`)
  },
})

const signIn = async (login: DeviceLogin) => {
  console.log(`To sign in, open ${login.verificationUrl} and enter ${login.userCode}`)
  console.log((await login.completed).summary)
}

type Json = Record<string, unknown>

/** The events of a streamed Responses answer (server-sent events, one JSON object each). */
async function* events(body: ReadableStream<Uint8Array>): AsyncGenerator<Json> {
  const decoder = new TextDecoder()
  const reader = body.getReader()
  let buffer = ""
  for (let read = await reader.read(); !read.done; read = await reader.read()) {
    buffer += decoder.decode(read.value, { stream: true }).replaceAll("\r\n", "\n")
    for (let end = buffer.indexOf("\n\n"); end >= 0; end = buffer.indexOf("\n\n")) {
      const data = buffer
        .slice(0, end)
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n")
      buffer = buffer.slice(end + 2)
      if (data !== "" && data !== "[DONE]") yield JSON.parse(data) as Json
    }
  }
}

/** The tool the model may call; a real host would look the weather up. */
const weather = (city: string) => ({ city, celsius: 12, sky: "cloudy" })

const tools = [
  {
    type: "function",
    name: "get_weather",
    description: "The current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
]

const percent = (value: number | undefined) => (value === undefined ? "unknown" : `${value}%`)
const quotaLine = (account: AccountView) =>
  `${account.label ?? account.key}: ${account.state}, 5h ${percent(account.quota?.fiveHour?.usedPercent)} used, ` +
  `weekly ${percent(account.quota?.weekly?.usedPercent)} used`

try {
  // a fresh machine: the first login becomes the main account, the second one a fallback
  const { accounts } = await codex.accounts.list()
  if (accounts.find((a) => a.kind === "main")?.loggedIn !== true) await signIn(await codex.login.device())
  if (accounts.length < 2) await signIn(await codex.login.device({ label: "spare" }))

  const input: Array<Json> = [{ role: "user", content: [{ type: "input_text", text: "What is the weather in Oslo?" }] }]
  for (let step = 0; step < 4; step++) {
    // the URL is the public Responses API's: the facade sends it to the Codex backend, signed with the login
    const response = await codex.fetch("https://api.openai.com/v1/responses", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        model: "gpt-5.5",
        instructions: "You are a weather assistant. Use the tool, then answer in one sentence.",
        input,
        tools,
        stream: true,
        store: false,
      }),
    })
    if (!response.ok || response.body === null) throw new Error(`${response.status}: ${await response.text()}`)
    const calls: Array<Json> = []
    for await (const event of events(response.body)) {
      if (event.type === "response.output_text.delta") process.stdout.write(String(event.delta))
      const item = event.item as Json | undefined
      if (event.type === "response.output_item.done" && item?.type === "function_call") calls.push(item)
    }
    if (calls.length === 0) break
    for (const call of calls) {
      const args = JSON.parse(String(call.arguments)) as { city: string }
      console.log(`[tool ${String(call.name)}(${args.city})]`)
      input.push(call, {
        type: "function_call_output",
        call_id: call.call_id,
        output: JSON.stringify(weather(args.city)),
      })
    }
  }
  process.stdout.write("\n")

  const quota = await codex.accounts.quota()
  console.log("Quota:")
  for (const account of quota.accounts) console.log(`  ${quotaLine(account)}`)
} finally {
  await codex.dispose()
}
