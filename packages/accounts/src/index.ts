export {}
export * as FileLock from "./FileLock.ts"
export * as Migrations from "./Migrations.ts"
export * as Store from "./Store.ts"
export * as StoreSchema from "./StoreSchema.ts"
