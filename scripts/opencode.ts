/**
 * `bun run opencode -- <args>`: the OpenCode binary this checkout tests against (npm `opencode-ai`, installed
 * by `bun install`, not on the PATH), run with the arguments given, in the directory it was called from.
 */
import { opencodeBinary } from "../packages/opencode/test/e2e/harness.ts"

const proc = Bun.spawn([opencodeBinary(), ...process.argv.slice(2)], {
  cwd: process.env.INIT_CWD ?? process.cwd(),
  stdin: "inherit",
  stdout: "inherit",
  stderr: "inherit",
})
process.exitCode = await proc.exited
