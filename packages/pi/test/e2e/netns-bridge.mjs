// Runs inside a fresh network namespace (`unshare -n`), where only loopback exists: listens on the
// 127.0.0.1 ports named in PI_E2E_BRIDGE (JSON: [{ "port": 1234, "unix": "/tmp/x.sock" }]) and carries each
// connection over a Unix socket to the test process outside, which connects it to the simulator. Then it
// runs the command after `--` with the same stdio and exits with its status. Plain Node: no dependencies.
import { spawn } from "node:child_process"
import { connect, createServer } from "node:net"

const forwards = JSON.parse(process.env.PI_E2E_BRIDGE ?? "[]")
const servers = await Promise.all(
  forwards.map(
    ({ port, unix }) =>
      new Promise((resolve, reject) => {
        const server = createServer((inside) => {
          const outside = connect(unix)
          inside.pipe(outside).pipe(inside)
          const close = () => {
            inside.destroy()
            outside.destroy()
          }
          inside.on("error", close)
          outside.on("error", close)
        })
        server.once("error", reject)
        server.listen(port, "127.0.0.1", () => resolve(server))
      }),
  ),
)

const at = process.argv.indexOf("--")
const [command, ...args] = process.argv.slice(at + 1)
const env = { ...process.env }
delete env.PI_E2E_BRIDGE
const child = spawn(command, args, { stdio: "inherit", env })
for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"]) process.on(signal, () => child.kill(signal))
child.on("exit", (code, signal) => {
  for (const server of servers) server.close()
  process.exit(code ?? (signal === null ? 1 : 128))
})
