export * from "./Simulator.ts"
export * from "./Test.ts"
