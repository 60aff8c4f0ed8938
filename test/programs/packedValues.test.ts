import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { packedValues } from "../../src/programs/stages/packedValues.ts"

const encoder = new TextEncoder()

describe("packedValues (ingest's record values)", () => {
  it("every value holds exactly the UTF-8 of its text, whatever the text", () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constant("")), { maxLength: 40 }),
        (texts) => {
          const values = packedValues(texts)
          assert.strictEqual(values.length, texts.length)
          texts.forEach((t, i) => {
            assert.deepStrictEqual([...(values[i] ?? [])], [...encoder.encode(t)])
          })
        }
      )
    )
  })
})
