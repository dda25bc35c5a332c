export {}
export * as Files from "./Files.ts"
export * as Logger from "./Logger.ts"
export * as Redact from "./Redact.ts"
export * as Settings from "./Settings.ts"
