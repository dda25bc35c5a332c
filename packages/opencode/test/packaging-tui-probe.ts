/**
 * Loads a built TUI entry the way OpenCode 1.18 does: with OpenTUI's runtime plugin installed, so that
 * `@opentui/*` and `solid-js` imports resolve to this process's (the host's) instances. Prints the entry's
 * shape as one JSON line. Used by packaging.tarball.test.ts against the installed package.
 */
import "@opentui/solid/runtime-plugin-support"

const path = process.argv[2]
if (path === undefined) throw new Error("usage: bun packaging-tui-probe.ts <tui.js>")
const mod = (await import(path)) as { default?: { id?: unknown; tui?: unknown } }
console.log(JSON.stringify({ id: mod.default?.id, tui: typeof mod.default?.tui }))
