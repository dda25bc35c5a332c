/** `hostOnly.ts` bound to the server entry's sources, as the package exports them. */
import type { SimAccount } from "@cortexkit/openai-auth-testkit/Simulator"
import { server } from "../../src/server.ts"
import { type BuiltPlugin, buildPluginWith } from "./hostOnly.ts"

export { type BuiltPlugin, buildPluginWith, oauthEntry, type PluginFetch } from "./hostOnly.ts"

export const buildPlugin = (main: SimAccount): Promise<BuiltPlugin> => buildPluginWith(server, main)
