import { describe, expect, test } from "bun:test"
import { type CodexFailure, classifyEvent, classifyHttp } from "@cortexkit/openai-auth-core/CodexError"

const NOW = 1_780_000_000_000
const NOW_S = NOW / 1000
const at = { now: NOW }

const usageBody = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    error: {
      type: "usage_limit_reached",
      message: "The usage limit has been reached",
      plan_type: "plus",
      eligible_promo: null,
      ...extra,
    },
  })

const pick = (f: CodexFailure) => ({ ...f, message: f.message }) as Record<string, unknown>

describe("classifyHttp", () => {
  const table: Array<[string, CodexFailure, Record<string, unknown>]> = [
    [
      "429 usage_limit_reached with resets_at",
      classifyHttp(429, usageBody({ resets_at: NOW_S + 600, resets_in_seconds: 1 }), undefined, at),
      { _tag: "UsageLimit", resetsAt: NOW + 600_000, planType: "plus", message: "The usage limit has been reached" },
    ],
    [
      "429 usage_limit_reached with only resets_in_seconds",
      classifyHttp(429, usageBody({ resets_in_seconds: 30 }), undefined, at),
      { _tag: "UsageLimit", resetsAt: NOW + 30_000 },
    ],
    [
      "429 usage_limit_exceeded as code, reset from the x-codex headers",
      classifyHttp(
        429,
        JSON.stringify({ error: { code: "usage_limit_exceeded", message: "limit" } }),
        {
          "x-codex-primary-used-percent": "100",
          "x-codex-primary-window-minutes": "300",
          "x-codex-primary-reset-after-seconds": "120",
          "x-codex-secondary-used-percent": "20",
          "x-codex-secondary-window-minutes": "10080",
          "x-codex-secondary-reset-after-seconds": "999999",
          "x-codex-plan-type": "pro",
        },
        at,
      ),
      { _tag: "UsageLimit", resetsAt: NOW + 120_000, planType: "pro" },
    ],
    ["NA's quirk: a usage-limit body with 404", classifyHttp(404, usageBody(), undefined, at), { _tag: "UsageLimit" }],
    [
      "usage_not_included",
      classifyHttp(
        403,
        JSON.stringify({ error: { type: "usage_not_included", message: "no codex", plan_type: "free" } }),
        undefined,
        at,
      ),
      { _tag: "PlanWithoutCodex", planType: "free", message: "no codex" },
    ],
    [
      "other 429 with retry-after seconds",
      classifyHttp(429, JSON.stringify({ error: { message: "Too many requests" } }), { "Retry-After": "2" }, at),
      { _tag: "BurstRateLimit", retryAfterMs: 2000 },
    ],
    [
      "other 429 with retry-after HTTP date",
      classifyHttp(429, "", { "retry-after": new Date(NOW + 5000).toUTCString() }, at),
      { _tag: "BurstRateLimit", retryAfterMs: 5000 },
    ],
    [
      "other 429 with a hint in the message",
      classifyHttp(
        429,
        JSON.stringify({
          error: { code: "rate_limit_exceeded", message: "Rate limit reached. Please try again in 1.5s." },
        }),
        undefined,
        at,
      ),
      { _tag: "BurstRateLimit", retryAfterMs: 1500 },
    ],
    [
      "401",
      classifyHttp(401, JSON.stringify({ detail: "Could not parse your authentication token." }), undefined, at),
      { _tag: "AuthFailure", status: 401, message: "Could not parse your authentication token." },
    ],
    ["403 HTML page", classifyHttp(403, "<html>Just a moment...</html>", undefined, at), { _tag: "Forbidden" }],
    [
      "context_length_exceeded",
      classifyHttp(
        400,
        JSON.stringify({
          error: { code: "context_length_exceeded", message: "Your input exceeds the context window" },
        }),
        undefined,
        at,
      ),
      { _tag: "ContextTooLong", message: "Your input exceeds the context window" },
    ],
    [
      "502 text body",
      classifyHttp(502, "Bad Gateway", undefined, at),
      { _tag: "Transient", status: 502, message: "Bad Gateway" },
    ],
    [
      "503 server_is_overloaded",
      classifyHttp(503, JSON.stringify({ error: { code: "server_is_overloaded", message: "busy" } }), undefined, at),
      { _tag: "Transient", status: 503 },
    ],
    [
      "400 unsupported parameter (detail)",
      classifyHttp(400, JSON.stringify({ detail: "Unsupported parameter: max_output_tokens" }), undefined, at),
      { _tag: "BadRequest", status: 400, message: "Unsupported parameter: max_output_tokens" },
    ],
    [
      "400 with error.code",
      classifyHttp(
        400,
        JSON.stringify({ error: { type: "invalid_request_error", code: "unknown_model", message: "model x" } }),
        undefined,
        at,
      ),
      { _tag: "BadRequest", status: 400, code: "unknown_model", message: "model x" },
    ],
    ["empty 404", classifyHttp(404, "", undefined, at), { _tag: "BadRequest", status: 404, message: "HTTP 404" }],
  ]
  for (const [name, got, want] of table) test(name, () => expect(pick(got)).toMatchObject(want))

  test("long non-JSON bodies are truncated", () => {
    const f = classifyHttp(500, "x".repeat(10_000), undefined, at)
    expect(f._tag).toBe("Transient")
    expect(f.message.length).toBeLessThan(600)
  })
})

describe("classifyEvent", () => {
  const table: Array<[string, unknown, Record<string, unknown>]> = [
    [
      "response.failed context_length_exceeded",
      {
        type: "response.failed",
        response: { id: "r", status: "failed", error: { code: "context_length_exceeded", message: "too long" } },
      },
      { _tag: "ContextTooLong", message: "too long" },
    ],
    [
      "response.failed usage limit with resets_at",
      {
        type: "response.failed",
        response: {
          error: { code: "usage_limit_reached", message: "spent", plan_type: "plus", resets_at: NOW_S + 60 },
        },
      },
      { _tag: "UsageLimit", resetsAt: NOW + 60_000, planType: "plus" },
    ],
    [
      "response.failed with rate_limit_reached_type (mid-stream exhaustion)",
      {
        type: "response.failed",
        response: { error: { message: "x" }, rate_limit_reached_type: { type: "rate_limit_reached" } },
      },
      { _tag: "UsageLimit" },
    ],
    [
      "response.failed rate_limit_exceeded with a ms hint",
      {
        type: "response.failed",
        response: { error: { code: "rate_limit_exceeded", message: "Please try again in 250ms" } },
      },
      { _tag: "BurstRateLimit", retryAfterMs: 250 },
    ],
    [
      "response.failed slow_down",
      { type: "response.failed", response: { error: { code: "slow_down", message: "slow" } } },
      { _tag: "Transient", status: 503 },
    ],
    [
      "response.failed insufficient_quota",
      { type: "response.failed", response: { error: { code: "insufficient_quota", message: "quota" } } },
      { _tag: "UsageLimit" },
    ],
    [
      "response.failed invalid_prompt",
      { type: "response.failed", response: { error: { code: "invalid_prompt", message: "bad" } } },
      { _tag: "BadRequest", status: 400, code: "invalid_prompt" },
    ],
    [
      "response.failed server_error",
      { type: "response.failed", response: { error: { code: "server_error", message: "oops" } } },
      { _tag: "Transient", message: "oops" },
    ],
    [
      "top-level SSE error event",
      { type: "error", code: "server_error", message: "An error occurred", sequence_number: 4 },
      { _tag: "Transient", message: "An error occurred" },
    ],
    [
      "WS error frame 429 usage_limit_reached with headers",
      {
        type: "error",
        status: 429,
        error: { type: "usage_limit_reached", message: "The usage limit has been reached", plan_type: "plus" },
        headers: {
          "x-codex-primary-used-percent": "100",
          "x-codex-primary-window-minutes": "300",
          "x-codex-primary-reset-at": String(NOW_S + 900),
        },
      },
      { _tag: "UsageLimit", resetsAt: NOW + 900_000, planType: "plus" },
    ],
    [
      "WS error frame status_code 401",
      { type: "error", status_code: 401, error: { message: "token expired" } },
      { _tag: "AuthFailure", status: 401 },
    ],
    [
      "WS error frame previous_response_not_found",
      { type: "error", status: 400, error: { code: "previous_response_not_found", message: "gone" } },
      { _tag: "Transient", status: 400, message: "gone" },
    ],
  ]
  for (const [name, json, want] of table) test(name, () => expect(pick(classifyEvent(json, at))).toMatchObject(want))

  test("junk never throws", () => {
    for (const junk of [null, undefined, 1, "x", [], { type: 5 }, { error: 7, response: "r" }])
      expect(classifyEvent(junk, at)._tag).toBe("Transient")
  })
})
