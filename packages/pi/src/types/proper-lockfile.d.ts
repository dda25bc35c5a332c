// The part of proper-lockfile 4.1.2 (the lock Pi takes on auth.json) that we call.
declare module "proper-lockfile" {
  export interface LockOptions {
    readonly stale?: number
    readonly update?: number
    readonly retries?: number
    readonly realpath?: boolean
    readonly onCompromised?: (error: Error) => void
  }
  export function lock(file: string, options?: LockOptions): Promise<() => Promise<void>>
  const lockfile: { readonly lock: typeof lock }
  export default lockfile
}
