import { expect, test } from "bun:test"
import { PushSource } from "../src/PushSource.ts"

const decoder = new TextDecoder()

test("text pushed between two reads comes out as one chunk, in order with byte pushes", async () => {
  const source = new PushSource(() => {})
  const reader = source.stream.getReader()
  source.pushText("a")
  source.pushText("b")
  source.push(new TextEncoder().encode("c"))
  source.pushText("d")
  const chunks: Array<string> = []
  const first = await reader.read()
  chunks.push(decoder.decode(first.value))
  source.pushText("e")
  source.pushText("f")
  source.close()
  for (;;) {
    const next = await reader.read()
    if (next.done) break
    chunks.push(decoder.decode(next.value))
  }
  expect(chunks.join("")).toBe("abcdef")
  // "ab" is one chunk, then "c", then "d"; "ef" arrives as one chunk too
  expect(chunks).toEqual(["ab", "c", "d", "ef"])
})

test("a reader waiting for data wakes up for text pushed later, and a failure comes after the queued text", async () => {
  const source = new PushSource(() => {})
  const reader = source.stream.getReader()
  const pending = reader.read()
  source.pushText("late")
  expect(decoder.decode((await pending).value)).toBe("late")
  source.pushText("x")
  source.fail(new Error("boom"))
  expect(decoder.decode((await reader.read()).value)).toBe("x")
  await expect(reader.read()).rejects.toThrow("boom")
})
