/** A throwaway self-signed certificate for 127.0.0.1 (and localhost), made with the system's openssl. */
import { spawnSync } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export interface Pem {
  readonly key: string
  readonly cert: string
}

/** undefined (with the reason on stderr) when openssl is not available */
export const makeSelfSigned = (): Pem | undefined => {
  const dir = mkdtempSync(join(tmpdir(), "raw-ws-tls-"))
  const key = join(dir, "key.pem")
  const cert = join(dir, "cert.pem")
  const run = spawnSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "-keyout",
      key,
      "-out",
      cert,
    ],
    { encoding: "utf8" },
  )
  if (run.error !== undefined || run.status !== 0) {
    console.error(`skipping TLS tests: openssl failed: ${run.error?.message ?? run.stderr}`)
    return undefined
  }
  return { key: readFileSync(key, "utf8"), cert: readFileSync(cert, "utf8") }
}
