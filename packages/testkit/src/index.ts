export * from "./SimClient.ts"
export * from "./Simulator.ts"
export * from "./Test.ts"
