/**
 * `Files` over `NodeFileSystem` (the real disk, which runs under Bun too): what `Files.layer` loads with
 * `import()` on its first operation other than `stat`, so the platform file system's code is not loaded by a
 * process that never reads or writes a file through it.
 */
import { NodeFileSystem } from "@effect/platform-node-shared"
import { Effect } from "effect"
import { make, NativeStat } from "../Files.ts"
import type { FilesShape } from "./files-shape.ts"

export const nodeFiles: Effect.Effect<FilesShape> = make.pipe(
  Effect.provide(NodeFileSystem.layer),
  Effect.provideService(NativeStat, true),
)
