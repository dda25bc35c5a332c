import { describe, expect, test } from "bun:test"
import { createHash } from "node:crypto"
import { randomHex, sha256Hex } from "../src/Digest.ts"

describe("Digest", () => {
  test("sha256Hex is node:crypto's SHA-256 of the parts hashed in order, text and bytes alike", () => {
    const bytes = new TextEncoder().encode("é\u0000x")
    const expected = createHash("sha256").update("model").update("\0").update(bytes).digest("hex")
    expect(sha256Hex("model", "\0", bytes)).toBe(expected)
    expect(sha256Hex("ab")).toBe(sha256Hex("a", "b"))
    expect(sha256Hex()).toBe(createHash("sha256").digest("hex"))
  })

  test("randomHex gives twice as many lowercase hex characters as bytes, different each time", () => {
    expect(randomHex(6)).toMatch(/^[0-9a-f]{12}$/)
    expect(randomHex(12)).toMatch(/^[0-9a-f]{24}$/)
    const many = new Set(Array.from({ length: 100 }, () => randomHex(6)))
    expect(many.size).toBe(100)
  })
})
