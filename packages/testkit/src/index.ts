export * from "./Simulator.ts"
export * from "./Test.ts"
export * from "./SimClient.ts"
