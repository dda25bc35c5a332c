import { expect, test } from "bun:test"
import { sidebarModel } from "@cortexkit/openai-auth-accounts/QuotaView"
import { emptyDocument } from "@cortexkit/openai-auth-accounts/StoreSchema"
import { statusLine } from "../src/Status.ts"

const now = 1_800_000_000_000
const reading = (fiveHour: number, weekly: number) => ({
  observedAt: now - 60_000,
  source: "headers" as const,
  fiveHour: { usedPercent: fiveHour, windowMinutes: 300, resetsAt: now + 2 * 3_600_000 + 5 * 60_000 },
  weekly: { usedPercent: weekly, windowMinutes: 10_080, resetsAt: now + 3 * 86_400_000 },
  otherWindows: [],
  additional: [],
})

test("the status line names the account that served and shows both windows with their resets", () => {
  const doc = { ...emptyDocument(), quota: { main: reading(23, 41) } } as never
  expect(statusLine(sidebarModel(doc, { updatedAt: 0, lastServed: { key: "main", at: now } }, now))).toBe(
    "ChatGPT main: 5h 23% ↻2h 05m · weekly 41% ↻3d 0h",
  )
})

test("a pace that runs out before the reset is flagged; no reading yet means no line", () => {
  // 90 % used with 2 h 05 m of 5 h left: on pace for well over 100 %
  const doc = { ...emptyDocument(), quota: { main: reading(90, 10) } } as never
  expect(statusLine(sidebarModel(doc, { updatedAt: 0 }, now))).toContain("5h 90% ↻2h 05m ⚠")
  expect(statusLine(sidebarModel(emptyDocument(), { updatedAt: 0 }, now))).toBeUndefined()
})
