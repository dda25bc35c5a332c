import { describe, expect, test } from "bun:test"
import { Redacted, Result } from "effect"
import { migrate } from "../src/Migrations.ts"
import { decodeDocument, encodeDocument } from "../src/StoreSchema.ts"

const NOW = 1_700_000_000_000

describe("Migrations", () => {
  const table: ReadonlyArray<readonly [string, unknown, unknown]> = [
    ["settings-only v0", { webSearch: false, logLevel: "debug" }, { version: 1, webSearch: false, logLevel: "debug" }],
    [
      "legacy oauth array",
      { accounts: [{ type: "oauth", accountId: "a1", access: "A", refresh: "R", expires: 5, mine: 1 }] },
      { version: 1, accounts: [{ mine: 1, id: "a1", access: "A", refresh: "R", expiresAt: 5, addedAt: NOW }] },
    ],
    [
      "legacy map keyed by id",
      { accounts: { a2: { accessToken: "A", refreshToken: "R", expires: 9 } } },
      { version: 1, accounts: [{ id: "a2", access: "A", refresh: "R", expiresAt: 9, addedAt: NOW }] },
    ],
    ["already v1", { version: 1, accounts: [], other: true }, { version: 1, accounts: [], other: true }],
  ]
  for (const [name, input, expected] of table) {
    test(name, () => {
      const out = migrate(input, NOW)
      expect(Result.isSuccess(out) ? out.success : out.failure).toEqual(expected as never)
    })
  }

  const refused: ReadonlyArray<readonly [string, unknown, string]> = [
    ["a newer version", { version: 2 }, "newer version"],
    ["a non-integer version", { version: "1" }, "version"],
    ["not an object", [1, 2], "not a JSON object"],
  ]
  for (const [name, input, reason] of refused) {
    test(`refuses ${name}`, () => {
      const out = migrate(input, NOW)
      expect(Result.isFailure(out) && out.failure.reason).toContain(reason)
    })
  }

  test("a legacy file decodes, and round-trips with its unknown keys", () => {
    const doc = decodeDocument(
      {
        issuer: "http://127.0.0.1:9",
        accounts: [{ type: "oauth", accountId: "a1", access: "A", refresh: "R", expires: 5, team: "x" }],
      },
      NOW,
    )
    expect(Result.isSuccess(doc)).toBe(true)
    if (!Result.isSuccess(doc)) return
    const account = doc.success.accounts[0]
    expect(account?.id).toBe("a1")
    expect(account && Redacted.value(account.refresh)).toBe("R")
    const encoded = encodeDocument(doc.success)
    expect(Result.isSuccess(encoded) && encoded.success).toMatchObject({
      version: 1,
      issuer: "http://127.0.0.1:9",
      accounts: [{ id: "a1", access: "A", refresh: "R", expiresAt: 5, addedAt: NOW, team: "x", state: "active" }],
    })
  })
})
