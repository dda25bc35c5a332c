import { expect, test } from "bun:test"
import { CATALOG } from "@cortexkit/openai-auth-core/Models"
import { getModels } from "@earendil-works/pi-ai/compat"
import { CLASSIC_SHAPE, cacheSeconds, type PiModel, piModels } from "../src/PiModels.ts"

const builtIn = getModels("openai-codex") as unknown as ReadonlyArray<PiModel>

test("Pi's own catalog, at no per-token price, in the request shape our rewrite is made for", () => {
  const models = piModels(builtIn)
  for (const pi of builtIn) {
    const ours = models.find((m) => m.id === pi.id)
    expect(ours).toBeDefined()
    expect(ours?.contextWindow).toBe(pi.contextWindow)
    expect(ours?.thinkingLevelMap).toEqual(pi.thinkingLevelMap)
    expect(ours?.cost).toEqual({ input: 0, output: 0, cacheRead: 0, cacheWrite: 0 })
    expect(ours?.compat).toMatchObject(CLASSIC_SHAPE)
    expect(ours?.promptCache?.short).toBe(cacheSeconds(pi.id))
  }
})

test("every model of our catalog that Pi lacks is offered too, with our limits and efforts", () => {
  const models = piModels(builtIn)
  for (const entry of CATALOG) expect(models.some((m) => m.id === entry.slug)).toBe(true)
  const added = models.find((m) => m.id === "gpt-5.5")
  expect(added).toMatchObject({ id: "gpt-5.5", name: "GPT-5.5", contextWindow: 272_000, maxTokens: 128_000 })
  // gpt-5.5 has no `none` effort: Pi's "off" cannot turn reasoning off there
  expect(added?.thinkingLevelMap).toMatchObject({ off: null, minimal: "low", xhigh: "xhigh" })
  // Pi's "off" is `none` exactly where our catalog (codex-rs's) lists that effort
  const known = new Set(builtIn.map((m) => m.id))
  for (const entry of CATALOG.filter((e) => !known.has(e.slug))) {
    const off = models.find((m) => m.id === entry.slug)?.thinkingLevelMap?.off
    expect(off).toBe(entry.efforts.includes("none") ? "none" : null)
  }
  expect(cacheSeconds("gpt-5.6-luna")).toBe(1800)
  expect(cacheSeconds("gpt-6-sol")).toBe(300)
})

test("ids a ChatGPT account may not use are left out", () => {
  const models = piModels([...builtIn, { ...(builtIn[0] as PiModel), id: "gpt-5.5-pro", name: "Pro" }])
  expect(models.some((m) => m.id === "gpt-5.5-pro")).toBe(false)
})
