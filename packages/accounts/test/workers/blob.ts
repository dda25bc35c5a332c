/** A large string fully determined by `seq`, so a torn write cannot match it. */
export const blobFor = (seq: number): string => {
  const unit = `${seq.toString(36)}-${"x".repeat(57)}|`
  return unit.repeat(Math.ceil(2_000_000 / unit.length))
}
