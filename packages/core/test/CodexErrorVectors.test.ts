/**
 * Error classification against vectors ported (rewritten, with our own values) from other implementations'
 * public tests. Each test names its source: repository, file and test. "(disagreement)" marks a case where
 * the sources differ and the seed, then codex-rs, decided (docs/protocol.md lists them).
 */
import { describe, expect, test } from "bun:test"
import { type CodexFailure, classifyEvent, classifyHttp, retryAfterMs } from "@cortexkit/openai-auth-core/CodexError"
import { SseBodyObserver } from "@cortexkit/openai-auth-core/SseObserver"
import type { StreamEvent } from "@cortexkit/openai-auth-core/StreamEvent"

const NOW = 1_781_500_000_000
const NOW_S = NOW / 1000
const at = { now: NOW }

const http = (status: number, body: unknown, headers?: Record<string, string>) =>
  classifyHttp(status, typeof body === "string" ? body : JSON.stringify(body), headers, at)
const failed = (error: Record<string, unknown>) =>
  classifyEvent(
    { type: "response.failed", sequence_number: 7, response: { id: "resp_v", status: "failed", error } },
    at,
  )
const shape = (f: CodexFailure) => ({ ...f, message: f.message }) as Record<string, unknown>

describe("response.failed: openai/codex codex-rs/codex-api/src/sse/responses.rs", () => {
  // responses.rs test `error_when_error_event`
  test("rate_limit_exceeded with 'try again in 4.217s' is a burst limit with that delay", () => {
    const f = failed({
      code: "rate_limit_exceeded",
      message:
        "Rate limit reached for gpt-5.5 on tokens per min (TPM): Limit 9000, Used 8000. Please try again in 4.217s. Visit the docs.",
    })
    expect(shape(f)).toMatchObject({ _tag: "BurstRateLimit", retryAfterMs: 4217 })
  })

  // responses.rs test `context_window_error_is_fatal`
  test("context_length_exceeded stops", () => {
    expect(failed({ code: "context_length_exceeded", message: "Your input exceeds the context window." })._tag).toBe(
      "ContextTooLong",
    )
  })

  // responses.rs test `context_window_error_with_newline_is_fatal`
  test("context_length_exceeded with a line break in the message stops too", () => {
    const f = failed({ code: "context_length_exceeded", message: "Your input exceeds\nthe context window." })
    expect(shape(f)).toMatchObject({ _tag: "ContextTooLong", message: "Your input exceeds\nthe context window." })
  })

  // responses.rs test `quota_exceeded_error_is_fatal` (disagreement: codex-rs ends the turn with QuotaExceeded; for
  // one account of several it is that account's usage limit, so the request moves on)
  test("insufficient_quota is the account's usage limit", () => {
    expect(failed({ code: "insufficient_quota", message: "You exceeded your current quota." })._tag).toBe("UsageLimit")
  })

  // responses.rs `is_usage_not_included`
  test("usage_not_included is a plan without Codex", () => {
    expect(failed({ code: "usage_not_included", message: "not in plan" })._tag).toBe("PlanWithoutCodex")
  })

  // responses.rs `process_sse`: any other code is Retryable
  test("another code is transient", () => {
    expect(shape(failed({ code: "mystery_fault", message: "hm" }))).toMatchObject({ _tag: "Transient" })
  })

  // responses.rs test `test_try_parse_retry_after`
  test("'try again in 41ms'", () => {
    expect(failed({ code: "rate_limit_exceeded", message: "Please try again in 41ms. Thanks." })).toMatchObject({
      retryAfterMs: 41,
    })
  })

  // responses.rs test `test_try_parse_retry_after_no_delay`
  test("'try again in 2.345s'", () => {
    expect(failed({ code: "rate_limit_exceeded", message: "Please try again in 2.345s." })).toMatchObject({
      retryAfterMs: 2345,
    })
  })

  // responses.rs test `test_try_parse_retry_after_azure`
  test("'Try again in 12 seconds'", () => {
    expect(
      failed({ code: "rate_limit_exceeded", message: "Rate limit exceeded. Try again in 12 seconds." }),
    ).toMatchObject({ retryAfterMs: 12_000 })
  })

  // codex-protocol.md §4: server_is_overloaded / slow_down are the 503 overload
  test("server_is_overloaded and slow_down are an overload", () => {
    for (const code of ["server_is_overloaded", "slow_down"])
      expect(shape(failed({ code, message: "busy" }))).toMatchObject({ _tag: "Transient", status: 503 })
  })

  // responses.rs test `error_when_missing_completed`
  test("a stream that ends before response.completed is dropped with codex-rs's message", () => {
    const events: Array<StreamEvent> = []
    const observer = new SseBodyObserver((e) => events.push(e))
    observer.push(
      new TextEncoder().encode(
        'event: response.output_item.done\ndata: {"type":"response.output_item.done","item":{"type":"message","role":"assistant","content":[{"type":"output_text","text":"Hi"}]}}\n\n',
      ),
    )
    observer.end(true)
    expect(events.at(-1)).toMatchObject({
      _tag: "Terminal",
      outcome: "dropped",
      failure: { _tag: "Transient", message: "stream closed before response.completed" },
    })
  })
})

describe("HTTP refusals: openai/codex codex-rs/codex-api/src/api_bridge.rs (+ api_bridge_tests.rs)", () => {
  // api_bridge_tests.rs `map_api_error_maps_server_overloaded_from_503_body`
  test("503 with error.code server_is_overloaded", () => {
    expect(shape(http(503, { error: { code: "server_is_overloaded" } }))).toMatchObject({
      _tag: "Transient",
      status: 503,
    })
  })

  // api_bridge_tests.rs `map_api_error_maps_usage_limit_limit_name_header`
  test("429 usage_limit_reached with an active-limit header", () => {
    const f = http(
      429,
      { error: { type: "usage_limit_reached", plan_type: "pro" } },
      {
        "x-codex-active-limit": "codex_other",
        "x-codex-other-limit-name": "codex_other",
      },
    )
    expect(shape(f)).toMatchObject({ _tag: "UsageLimit", planType: "pro" })
  })

  // api_bridge_tests.rs `map_api_error_extracts_identity_auth_details_from_headers`
  test("401 with a detail body", () => {
    expect(shape(http(401, { detail: "Unauthorized" }, { "x-request-id": "req-9" }))).toMatchObject({
      _tag: "AuthFailure",
      status: 401,
      message: "Unauthorized",
    })
  })

  // api_bridge.rs `map_api_error`: 429 with type usage_not_included is UsageNotIncluded, not a retry
  test("429 usage_not_included is not a burst limit", () => {
    expect(http(429, { error: { type: "usage_not_included", message: "Upgrade" } })._tag).toBe("PlanWithoutCodex")
  })

  // api_bridge.rs `map_api_error`: a 429 without a usage body is RetryLimit
  test("429 without a usage body is a burst limit", () => {
    expect(http(429, { error: { message: "Too many concurrent requests" } })._tag).toBe("BurstRateLimit")
  })

  // api_bridge.rs `map_api_error`: 500 is InternalServerError (retried)
  test("500 is transient", () => {
    expect(shape(http(500, "oops"))).toMatchObject({ _tag: "Transient", status: 500 })
  })

  // api_bridge.rs `map_api_error`: another 400 is InvalidRequest
  test("400 invalid_request_error stops", () => {
    expect(
      shape(http(400, { error: { type: "invalid_request_error", message: "Unsupported parameter: top_p" } })),
    ).toMatchObject({ _tag: "BadRequest", status: 400 })
  })
})

describe("WebSocket error frames: openai/codex codex-rs/codex-api/src/endpoint/responses_websocket.rs", () => {
  // responses_websocket.rs test `parse_wrapped_websocket_error_event_maps_to_transport_http` (numeric header value)
  test("429 usage_limit_reached frame: the reset from the body, numbers in the headers", () => {
    const f = classifyEvent(
      {
        type: "error",
        status: 429,
        error: {
          type: "usage_limit_reached",
          message: "The usage limit has been reached",
          plan_type: "pro",
          resets_at: NOW_S + 700,
        },
        headers: { "x-codex-primary-used-percent": "100.0", "x-codex-primary-window-minutes": 15 },
      },
      at,
    )
    expect(shape(f)).toMatchObject({ _tag: "UsageLimit", planType: "pro", resetsAt: NOW + 700_000 })
  })

  // the live frame (earendil-works/pi#4172): `status_code`, header names as printed, the reset only in the headers
  test("the live frame shape: status_code and Title-Case headers", () => {
    const f = classifyEvent(
      {
        type: "error",
        error: {
          type: "usage_limit_reached",
          message: "The usage limit has been reached",
          plan_type: "plus",
          eligible_promo: null,
        },
        status_code: 429,
        headers: {
          "X-Codex-Primary-Used-Percent": "100",
          "X-Codex-Primary-Window-Minutes": "300",
          "X-Codex-Primary-Reset-At": String(NOW_S + 1234),
          "X-Codex-Secondary-Used-Percent": "80",
          "X-Codex-Secondary-Window-Minutes": "10080",
        },
      },
      at,
    )
    expect(shape(f)).toMatchObject({ _tag: "UsageLimit", planType: "plus", resetsAt: NOW + 1_234_000 })
  })

  // responses_websocket.rs test `parse_wrapped_websocket_error_event_with_status_maps_invalid_request`
  test("400 invalid_request_error frame stops", () => {
    const f = classifyEvent(
      { type: "error", status: 400, error: { type: "invalid_request_error", message: "Model does not take images" } },
      at,
    )
    expect(shape(f)).toMatchObject({ _tag: "BadRequest", status: 400, message: "Model does not take images" })
  })

  // responses_websocket.rs test `parse_wrapped_websocket_error_event_with_connection_limit_maps_retryable`
  test("websocket_connection_limit_reached is retryable", () => {
    const f = classifyEvent(
      {
        type: "error",
        status: 400,
        error: {
          type: "invalid_request_error",
          code: "websocket_connection_limit_reached",
          message: "60 minutes are up",
        },
      },
      at,
    )
    expect(f._tag).toBe("Transient")
  })

  // responses_websocket.rs test `parse_wrapped_websocket_error_event_without_status_is_not_mapped` (disagreement:
  // codex-rs leaves such a frame unmapped; a frame that says usage_limit_reached is read as one)
  test("a frame without a status is classified by what it says", () => {
    const f = classifyEvent(
      {
        type: "error",
        error: { type: "usage_limit_reached", message: "limit" },
        headers: { "x-codex-primary-window-minutes": 15 },
      },
      at,
    )
    expect(f._tag).toBe("UsageLimit")
  })

  // cortexkit/openai-auth packages/opencode/src/tests/ws-pool.test.ts "attributes a mid-stream response.failed
  // rate_limit_reached_type to the connection that sent it"
  test("response.failed with failed.rate_limit_reached_type is the usage limit", () => {
    const f = classifyEvent(
      { type: "response.failed", response: { id: "resp_q", failed: { rate_limit_reached_type: "secondary" } } },
      at,
    )
    expect(f._tag).toBe("UsageLimit")
  })
})

describe("usage limits under other statuses: numman-ali/opencode-openai-codex-auth test/fetch-helpers.test.ts", () => {
  // fetch-helpers.test.ts "maps usage-limit 404 errors to 429"
  test("404 with error.code usage_limit_reached", () => {
    expect(http(404, { error: { code: "usage_limit_reached", message: "limit reached" } })._tag).toBe("UsageLimit")
  })

  // fetch-helpers.test.ts "leaves non-usage 404 errors unchanged"
  test("404 not_found stays a bad request", () => {
    expect(shape(http(404, { error: { code: "not_found", message: "nope" } }))).toMatchObject({
      _tag: "BadRequest",
      status: 404,
      code: "not_found",
    })
  })
})

describe("ndycode/opencode-openai-codex-auth-multiaccount test/fetch-helpers.test.ts", () => {
  // "maps usage_not_included 404 to 403 entitlement error, not rate limit"
  test("404 usage_not_included", () => {
    expect(http(404, { error: { code: "usage_not_included", message: "Usage not included in your plan" } })._tag).toBe(
      "PlanWithoutCodex",
    )
  })

  // "handles 404 with non-JSON body containing usage limit text"
  test("404 plain text 'usage limit exceeded'", () => {
    expect(http(404, "usage limit exceeded - please try again")._tag).toBe("UsageLimit")
  })

  // same rule, the 403 issue 13 names and the 429 it really is
  test("403 and 429 plain text usage limits", () => {
    expect(http(403, "You have reached your usage limit.")._tag).toBe("UsageLimit")
    expect(http(403, { error: { type: "usage_limit_reached", message: "spent", resets_in_seconds: 5 } })).toMatchObject(
      {
        _tag: "UsageLimit",
        resetsAt: NOW + 5000,
      },
    )
    expect(http(429, "Usage limit reached, come back later")._tag).toBe("UsageLimit")
    // but not a 400, and not a body that names another cause
    expect(http(400, "usage limit flag is not a parameter")._tag).toBe("BadRequest")
    expect(http(429, { error: { code: "rate_limit_exceeded", message: "usage limit of the org" } })._tag).toBe(
      "BurstRateLimit",
    )
  })

  // "handles 429 with entitlement error code (should not be rate limit)"
  test("429 with code usage_not_included", () => {
    expect(http(429, { error: { code: "usage_not_included", message: "Not included" } })._tag).toBe("PlanWithoutCodex")
  })

  // "handles 429 with entitlement text pattern (should not be rate limit)"
  test("429 whose message says 'not included in your plan'", () => {
    expect(http(429, { error: { message: "Usage not included in your plan" } })._tag).toBe("PlanWithoutCodex")
  })

  // "marks exact server overload payload as server retry and preserves retry-after"
  test("429 server_is_overloaded with retry_after_ms in the body", () => {
    const f = http(429, {
      type: "error",
      error: {
        type: "service_unavailable_error",
        code: "server_is_overloaded",
        message: "Overloaded.",
        retry_after_ms: 2250,
        param: null,
      },
    })
    expect(shape(f)).toMatchObject({ _tag: "Transient", status: 429, retryAfterMs: 2250 })
  })

  // "marks reduced service_unavailable_error payload as server retry and preserves fallback backoff"
  test("service_unavailable_error that says overloaded", () => {
    const f = http(429, {
      error: { type: "service_unavailable_error", message: "Our servers are currently overloaded." },
    })
    expect(f._tag).toBe("Transient")
  })

  // "marks reduced context.service_unavailable_error payload as server retry …"
  test("error.context.type service_unavailable_error that says overloaded", () => {
    const f = http(429, {
      error: { context: { type: "service_unavailable_error" }, message: "Servers overloaded, sorry." },
    })
    expect(f._tag).toBe("Transient")
  })

  // "does not treat context.service_unavailable_error without overload wording as server retry"
  test("service_unavailable_error without the wording is the 429 it came with", () => {
    const f = http(429, {
      error: { context: { type: "service_unavailable_error" }, message: "Service temporarily unavailable." },
    })
    expect(f._tag).toBe("BurstRateLimit")
  })

  // "marks live server_error payload as server retry on non-5xx response"
  test("400 with type and code server_error is transient", () => {
    const f = http(400, { error: { type: "server_error", code: "server_error", message: "The server had an error." } })
    expect(shape(f)).toMatchObject({ _tag: "Transient", status: 400 })
  })

  // "does not mark partial server_error payloads as server retry"
  test("400 with only part of the server_error payload stays a bad request", () => {
    for (const error of [
      { type: "server_error", message: "type only" },
      { code: "server_error", message: "code only" },
      { code: "server_error", type: "other_error", message: "mismatched" },
      { code: "server_error", context: { type: "server_error" }, message: "context only" },
    ])
      expect(http(400, { error })._tag).toBe("BadRequest")
  })

  // describe "handleErrorResponse rate limit parsing": "parses retryAfterMs from body"
  test("retry_after_ms in the body of a 429", () => {
    expect(http(429, { error: { message: "rate limited", retry_after_ms: 4100 } })).toMatchObject({
      retryAfterMs: 4100,
    })
  })

  // "parses retry-after-ms header"
  test("retry-after-ms header", () => {
    expect(http(429, { error: { message: "rate limited" } }, { "retry-after-ms": "2600" })).toMatchObject({
      retryAfterMs: 2600,
    })
  })

  // "parses retry-after header (seconds)"
  test("retry-after header in seconds", () => {
    expect(http(429, { error: { message: "rate limited" } }, { "retry-after": "7" })).toMatchObject({
      retryAfterMs: 7000,
    })
  })

  // "normalizes small retryAfterMs values as seconds" (disagreement: ND reads 5 as 5 s; the field says
  // milliseconds and no other source rescales it)
  test("a small retry_after_ms is milliseconds", () => {
    expect(http(429, { error: { message: "rate limited", retry_after_ms: 5 } })).toMatchObject({ retryAfterMs: 5 })
  })

  // "handles invalid retry-after header with default fallback" (the default wait is RoutedClient's)
  test("an unreadable retry-after gives no delay", () => {
    const f = http(429, { error: { message: "rate limited" } }, { "retry-after": "invalid" })
    expect(f._tag).toBe("BurstRateLimit")
    expect((f as { retryAfterMs?: number }).retryAfterMs).toBeUndefined()
  })

  // an overload's delay from the headers (issue 13: Retry-After "in a body or header is honoured for overload")
  test("503 overload with a Retry-After header", () => {
    expect(http(503, { error: { code: "slow_down", message: "slow" } }, { "Retry-After": "3" })).toMatchObject({
      _tag: "Transient",
      retryAfterMs: 3000,
    })
  })
})

describe("Retry-After: iam-brain/opencode-codex-auth test/rate-limit.test.ts", () => {
  // "parses Retry-After seconds"
  test("seconds", () => expect(retryAfterMs({ "retry-after": "12" }, NOW)).toBe(12_000))

  // "parses Retry-After HTTP date"
  test("an HTTP date", () =>
    expect(retryAfterMs({ "retry-after": new Date(NOW + 8000).toUTCString() }, NOW)).toBe(8000))

  // "returns undefined when missing/invalid"
  test("missing or junk", () => {
    expect(retryAfterMs({}, NOW)).toBeUndefined()
    expect(retryAfterMs({ "retry-after": "later" }, NOW)).toBeUndefined()
  })

  // "handles case-insensitive headers and trimmed values" (names are lower-cased by classifyHttp)
  test("any case and surrounding spaces", () => {
    expect(http(429, "", { "RETRY-AFTER": "4" })).toMatchObject({ retryAfterMs: 4000 })
    expect(retryAfterMs({ "retry-after": "  9  " }, NOW)).toBe(9000)
  })

  // "rejects fractional numeric seconds"
  test("fractions are not delay-seconds", () => {
    expect(retryAfterMs({ "retry-after": "2.5" }, NOW)).toBeUndefined()
    expect(retryAfterMs({ "retry-after": "3.0" }, NOW)).toBeUndefined()
  })

  // "rejects negative numeric seconds"
  test("negative seconds", () => expect(retryAfterMs({ "retry-after": "-3" }, NOW)).toBeUndefined())

  // "clamps past HTTP-date to 0"
  test("a date already past is 0", () =>
    expect(retryAfterMs({ "retry-after": new Date(NOW - 4000).toUTCString() }, NOW)).toBe(0))
})
