export * from "./Test.ts"
