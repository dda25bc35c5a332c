/**
 * Headless login: the device-code flow. The user opens `{issuer}/codex/device` anywhere and types the code;
 * we poll until the issuer hands back an authorization code (with a server-generated PKCE verifier) and
 * exchange it like the browser flow does.
 */
import { Clock, Context, Duration, Effect, Layer, Schema } from "effect"
import { HostIdentity } from "./HostIdentity.ts"
import { Http } from "./Http.ts"
import {
  CLIENT_ID,
  DeviceAuthFailed,
  DeviceCodeExpired,
  DeviceLoginNotEnabled,
  deviceRedirectUri,
  deviceTokenEndpoint,
  deviceUserCodeEndpoint,
  deviceVerificationUrl,
  normalizeIssuer,
  type TokenSet,
} from "./OAuth.ts"
import { printableLine } from "./Printable.ts"
import { TokenClient, type TokenEndpointError } from "./TokenClient.ts"

/** The user code is valid this long after it was issued. */
export const DEVICE_CODE_LIFETIME: Duration.Duration = Duration.minutes(15)
/** Polling exactly at the advertised interval gets `slow_down`-style refusals; OpenCode adds this margin. */
export const POLL_SAFETY_MARGIN_MS = 3000
/** Never faster than this, whatever `interval` the server sends (a `0`, a fraction, or a broken proxy's value). */
export const MIN_POLL_MS = 1000
/** After a poll that could not reach the issuer the wait doubles, up to this. */
export const MAX_POLL_BACKOFF_MS = 60_000
const DEFAULT_INTERVAL_S = 5

export interface DeviceCode {
  readonly issuer: string
  readonly userCode: string
  readonly verificationUrl: string
  readonly deviceAuthId: string
  /** the advertised interval plus the safety margin, never under `MIN_POLL_MS` */
  readonly intervalMs: number
  /** epoch ms (Clock) after which polling gives up */
  readonly expiresAt: number
}

const UserCodeResponse = Schema.Struct({
  device_auth_id: Schema.NonEmptyString,
  user_code: Schema.optionalKey(Schema.String),
  usercode: Schema.optionalKey(Schema.String),
  interval: Schema.optionalKey(Schema.NullOr(Schema.Union([Schema.String, Schema.Number]))),
})
const decodeUserCode = Schema.decodeUnknownResult(Schema.fromJsonString(UserCodeResponse))

const DeviceTokenResponse = Schema.Struct({
  authorization_code: Schema.NonEmptyString,
  code_verifier: Schema.NonEmptyString,
  code_challenge: Schema.optionalKey(Schema.String),
})
const decodeDeviceToken = Schema.decodeUnknownResult(Schema.fromJsonString(DeviceTokenResponse))

/** `interval` arrives as a string of seconds; 0 (poll at will) still waits `MIN_POLL_MS`. */
export const intervalMsFrom = (interval: string | number | null | undefined): number => {
  const seconds = typeof interval === "number" ? interval : interval == null ? Number.NaN : Number(interval.trim())
  const safe = Number.isFinite(seconds) && seconds >= 0 ? seconds : DEFAULT_INTERVAL_S
  return safe === 0 ? MIN_POLL_MS : Math.max(MIN_POLL_MS, Math.round(safe * 1000) + POLL_SAFETY_MARGIN_MS)
}

/** the wait before the next poll after `failures` polls in a row that could not reach the issuer */
export const pollWaitMs = (intervalMs: number, failures: number): number =>
  Math.min(Math.max(MIN_POLL_MS, intervalMs) * 2 ** failures, Math.max(MAX_POLL_BACKOFF_MS, intervalMs))

export interface DeviceFlowShape {
  readonly start: (options: {
    readonly issuer: string
  }) => Effect.Effect<DeviceCode, DeviceLoginNotEnabled | DeviceAuthFailed>
  /** Polls until approved (then exchanges the code), refused, or the code's 15 minutes are up. */
  readonly poll: (
    code: DeviceCode,
  ) => Effect.Effect<TokenSet, DeviceAuthFailed | DeviceCodeExpired | TokenEndpointError>
}

export const make = Effect.gen(function* () {
  const http = yield* Http
  const tokens = yield* TokenClient
  const headers = { accept: "application/json", "user-agent": (yield* HostIdentity).userAgent }

  const start = Effect.fn("DeviceFlow.start")(function* (options: { readonly issuer: string }) {
    const issuer = normalizeIssuer(options.issuer)
    const response = yield* http
      .postJson(deviceUserCodeEndpoint(issuer), { client_id: CLIENT_ID }, { headers })
      .pipe(Effect.mapError((e) => new DeviceAuthFailed({ message: `device login request failed: ${e.message}` })))
    if (response.status === 404) {
      return yield* new DeviceLoginNotEnabled({ message: `device-code login is not enabled on ${issuer}` })
    }
    if (response.status < 200 || response.status >= 300) {
      return yield* new DeviceAuthFailed({
        message: `device login request answered ${response.status}: ${printableLine(response.text.slice(0, 200))}`,
        status: response.status,
      })
    }
    const decoded = decodeUserCode(response.text)
    const userCode = decoded._tag === "Success" ? (decoded.success.user_code ?? decoded.success.usercode) : undefined
    if (decoded._tag === "Failure" || userCode === undefined || userCode === "") {
      return yield* new DeviceAuthFailed({
        message: `device login response is malformed: ${decoded._tag === "Failure" ? decoded.failure.message : "no user_code"}`,
        status: response.status,
      })
    }
    const now = yield* Clock.currentTimeMillis
    const code: DeviceCode = {
      issuer,
      userCode,
      verificationUrl: deviceVerificationUrl(issuer),
      deviceAuthId: decoded.success.device_auth_id,
      intervalMs: intervalMsFrom(decoded.success.interval),
      expiresAt: now + Duration.toMillis(DEVICE_CODE_LIFETIME),
    }
    return code
  })

  const poll = Effect.fn("DeviceFlow.poll")(function* (code: DeviceCode) {
    const expired = new DeviceCodeExpired({
      message: `the device code ${code.userCode} was not approved within ${Duration.format(DEVICE_CODE_LIFETIME)}`,
    })
    // polls in a row that did not reach the issuer (a network blip during a 15-minute wait is not a failed login)
    let unreachable = 0
    while (true) {
      if ((yield* Clock.currentTimeMillis) >= code.expiresAt) return yield* expired
      const response = yield* http
        .postJson(
          deviceTokenEndpoint(code.issuer),
          { device_auth_id: code.deviceAuthId, user_code: code.userCode },
          { headers },
        )
        .pipe(Effect.option)
      unreachable = response._tag === "None" ? unreachable + 1 : 0
      if (response._tag === "Some" && response.value.status >= 200 && response.value.status < 300) {
        const decoded = decodeDeviceToken(response.value.text)
        if (decoded._tag === "Failure") {
          return yield* new DeviceAuthFailed({
            message: `device token response is malformed: ${decoded.failure.message}`,
            status: response.value.status,
          })
        }
        return yield* tokens.exchangeCode({
          code: decoded.success.authorization_code,
          codeVerifier: decoded.success.code_verifier,
          redirectUri: deviceRedirectUri(code.issuer),
          issuer: code.issuer,
        })
      }
      if (response._tag === "Some" && response.value.status !== 403 && response.value.status !== 404) {
        return yield* new DeviceAuthFailed({
          message: `device authorization failed with ${response.value.status}: ${printableLine(response.value.text.slice(0, 200))}`,
          status: response.value.status,
        })
      }
      const remaining = code.expiresAt - (yield* Clock.currentTimeMillis)
      if (remaining <= 0) return yield* expired
      yield* Effect.sleep(Math.min(pollWaitMs(code.intervalMs, unreachable), remaining))
    }
  })

  return DeviceFlow.of({ start, poll })
})

export class DeviceFlow extends Context.Service<DeviceFlow, DeviceFlowShape>()(
  "@cortexkit/openai-auth-core/DeviceFlow",
) {
  static readonly layerNoDeps: Layer.Layer<DeviceFlow, never, Http | TokenClient> = Layer.effect(DeviceFlow, make)
  static readonly layer: Layer.Layer<DeviceFlow> = DeviceFlow.layerNoDeps.pipe(
    Layer.provide(TokenClient.layer),
    Layer.provide(Http.layer),
  )
}
