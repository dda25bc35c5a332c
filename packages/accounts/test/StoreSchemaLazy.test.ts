import { describe, expect, test } from "bun:test"
import { Result, Schema, type SchemaAST } from "effect"
import {
  AccountFields,
  DocumentFields,
  decodeDocument,
  emptyDocument,
  KNOWN_ACCOUNT,
  KNOWN_TOP,
} from "../src/StoreSchema.ts"

/** the property names of a suspended struct schema, as its AST has them */
const keysOf = (schema: { readonly ast: SchemaAST.AST }): ReadonlyArray<string> => {
  const ast = (schema.ast as unknown as { readonly thunk: () => SchemaAST.AST }).thunk()
  return (
    ast as unknown as { readonly propertySignatures: ReadonlyArray<{ readonly name: PropertyKey }> }
  ).propertySignatures.map((p) => String(p.name))
}

// The document's schemas are built on first use and `emptyDocument` is a plain value; these keep the plain
// parts in step with the schemas.
describe("StoreSchema, the parts that stand in for the schemas before their first use", () => {
  test("emptyDocument is what { version: 1 } decodes to", () => {
    const fields = Schema.decodeUnknownSync(DocumentFields)({ version: 1 })
    expect(emptyDocument()).toStrictEqual({ ...fields, accounts: [], quota: {}, extra: {} })
    const decoded = decodeDocument({ version: 1 }, 0)
    expect(Result.isSuccess(decoded) ? decoded.success : decoded.failure).toStrictEqual(emptyDocument())
  })

  test("the known keys are the schemas' fields", () => {
    expect([...KNOWN_TOP].sort()).toEqual([...keysOf(DocumentFields)].sort())
    expect([...KNOWN_ACCOUNT].sort()).toEqual([...keysOf(AccountFields)].sort())
  })
})
