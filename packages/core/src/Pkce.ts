/**
 * PKCE (RFC 7636, S256) and the OAuth `state`, with the Codex CLI's sizes. Randomness comes from the platform
 * CSPRNG, not Effect's `Random` (which is seedable and not meant for secrets).
 */
import { createHash, randomBytes } from "node:crypto"
import { Effect } from "effect"

export interface PkcePair {
  /** 64 random bytes, base64url without padding (86 chars) */
  readonly verifier: string
  /** base64url(SHA-256(verifier)) without padding */
  readonly challenge: string
}

export const base64Url = (bytes: Uint8Array): string => Buffer.from(bytes).toString("base64url")

export const challengeFor = (verifier: string): string =>
  createHash("sha256").update(verifier, "utf8").digest("base64url")

export const makeVerifier = (): string => base64Url(randomBytes(64))

/** 32 random bytes, base64url without padding (43 chars). */
export const makeState = (): string => base64Url(randomBytes(32))

export const makePair = (): PkcePair => {
  const verifier = makeVerifier()
  return { verifier, challenge: challengeFor(verifier) }
}

export const pair: Effect.Effect<PkcePair> = Effect.sync(makePair)
export const state: Effect.Effect<string> = Effect.sync(makeState)
