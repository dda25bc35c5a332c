/**
 * Who is calling the backend: the host's `originator` (sent on every Codex request and in the browser
 * login's authorize URL) and its `User-Agent` (on the Codex request when the host's own request carries
 * none, on the device-code endpoints and on usage polls). The host supplies it (OpenCode: `opencode`); the
 * library's own identity below only stands in where a host provided none, so a host is never impersonated.
 */
import { Context } from "effect"

export interface HostIdentity {
  /** e.g. `opencode`, `pi`, `codex_cli_rs` (docs/protocol.md §3.1) */
  readonly originator: string
  /** e.g. `opencode/1.18.33` */
  readonly userAgent: string
}

export const LIBRARY_IDENTITY: HostIdentity = {
  originator: "cortexkit_openai_auth",
  userAgent: "cortexkit-openai-auth",
}

/** The identity every service of a runtime uses; provide it once (`Layer.succeed(HostIdentity, …)`). */
export const HostIdentity = Context.Reference<HostIdentity>("@cortexkit/openai-auth-core/HostIdentity", {
  defaultValue: () => LIBRARY_IDENTITY,
})
