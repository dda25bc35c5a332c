/**
 * A plain Node 22 agent host on the CortexKit OpenAI auth facade, installed from npm with no Effect code of
 * its own: it signs in with ChatGPT (device code), gives the facade's `fetch` to openai-node, runs one
 * tool-calling turn with the answer streamed as it arrives, and prints the quota of every account. When
 * the main account hits its usage limit the request moves to the fallback without the host noticing.
 *
 * Every setting is `NODE_HOST_OPENAI_AUTH_*` (README.md); with none set it talks to the real ChatGPT backend.
 */
import { type AccountView, createCodexClient, type DeviceLogin } from "@cortexkit/openai-auth-accounts/CodexClient"
import OpenAI from "openai"

const codex = createCodexClient({
  originator: "node_host_example",
  userAgent: "node-host-example/0.1.0",
  settings: { prefix: "NODE_HOST_OPENAI_AUTH", configFile: "~/.config/node-host-example/openai-auth.json" },
  onServed: ({ account, attempts }) => {
    const before = attempts.filter((a) => a.outcome !== "served").map((a) => `${a.account}: ${a.outcome}`)
    console.log(`[served by ${account}${before.length === 0 ? "" : ` after ${before.join("; ")}`}]`)
  },
})

const signIn = async (login: DeviceLogin) => {
  console.log(`To sign in, open ${login.verificationUrl} and enter ${login.userCode}`)
  console.log((await login.completed).summary)
}

/** The tool the model may call; a real host would look the weather up. */
const weather = (city: string) => ({ city, celsius: 12, sky: "cloudy" })

const tools: Array<OpenAI.Responses.Tool> = [
  {
    type: "function",
    name: "get_weather",
    description: "The current weather in a city",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
    strict: false,
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

  // the API key is a placeholder: the facade signs every request with the ChatGPT login
  const openai = new OpenAI({ apiKey: "chatgpt-login", fetch: codex.fetch, maxRetries: 0 })
  const input: Array<OpenAI.Responses.ResponseInputItem> = [
    { role: "user", content: "What is the weather in Oslo right now?" },
  ]
  for (let step = 0; step < 4; step++) {
    const stream = await openai.responses.create({
      model: "gpt-5.5",
      instructions: "You are a weather assistant. Use the tool, then answer in one sentence.",
      input,
      tools,
      stream: true,
      store: false,
    })
    const calls: Array<OpenAI.Responses.ResponseFunctionToolCall> = []
    for await (const event of stream) {
      if (event.type === "response.output_text.delta") process.stdout.write(event.delta)
      if (event.type === "response.output_item.done" && event.item.type === "function_call") calls.push(event.item)
    }
    if (calls.length === 0) break
    for (const call of calls) {
      const args = JSON.parse(call.arguments) as { city: string }
      console.log(`[tool ${call.name}(${args.city})]`)
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
