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
  /** how a user of this host signs the main account in, for messages that send them there */
  readonly mainLogin?: MainLogin | undefined
}

export interface MainLogin {
  /** the host's name as a user knows it: `OpenCode`, `Pi` */
  readonly host: string
  /** what signs the main account in: `/login openai` */
  readonly command: string
}

/** A host that named no login of its own: a plain host of the facade signs the main account in with `login.*`. */
export const DEFAULT_MAIN_LOGIN: MainLogin = { host: "the host", command: "login.browser() or login.device()" }

export const mainLoginOf = (identity: HostIdentity): MainLogin => identity.mainLogin ?? DEFAULT_MAIN_LOGIN

export const LIBRARY_IDENTITY: HostIdentity = {
  originator: "cortexkit_openai_auth",
  userAgent: "cortexkit-openai-auth",
}

/** The identity every service of a runtime uses; provide it once (`Layer.succeed(HostIdentity, …)`). */
export const HostIdentity = Context.Reference<HostIdentity>("@cortexkit/openai-auth-core/HostIdentity", {
  defaultValue: () => LIBRARY_IDENTITY,
})
