import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import type { Mantissa } from "../../src/domain/candles/ExactSum.ts"
import {
  addBig,
  addNumber,
  bigMantissa,
  newSum,
  parseMantissa,
  sumMantissa
} from "../../src/domain/candles/ExactSum.ts"
import { add, fromScaled } from "../../src/domain/Decimal.ts"

/** Decimal text with up to 20 integer and 12 fraction digits, trailing zeros included. */
const decimalArb = fc
  .tuple(fc.bigInt({ min: 0n, max: 10n ** 20n }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 3 }))
  .map(([m, scale, zeros]) => {
    const digits = m.toString().padStart(scale + 1, "0")
    const text =
      scale === 0 ? digits : `${digits.slice(0, digits.length - scale)}.${digits.slice(digits.length - scale)}`
    return scale > 0 ? text + "0".repeat(zeros) : text
  })

describe("ExactSum", () => {
  it("sums any decimals exactly, through the double fast path and the bigint spill alike", () => {
    fc.assert(
      fc.property(fc.array(decimalArb, { maxLength: 60 }), (xs) => {
        const sum = newSum()
        const into: Mantissa = { m: 0, scale: 0 }
        for (const x of xs) {
          if (parseMantissa(x, into)) addNumber(sum, into.m, into.scale)
          else {
            const [m, scale] = bigMantissa(x)
            addBig(sum, m, scale)
          }
        }
        const expected = xs.reduce<string>((a, x) => add(a, x), "0")
        assert.strictEqual(fromScaled({ m: sumMantissa(sum), scale: sum.scale }), expected)
      }),
      { numRuns: 1000 }
    )
  })

  it("parses mantissas without trailing zeros and refuses more than 15 digits", () => {
    const into: Mantissa = { m: 0, scale: 0 }
    assert.isTrue(parseMantissa("60000.01000000", into))
    assert.deepStrictEqual(into, { m: 6000001, scale: 2 })
    assert.isTrue(parseMantissa("5.000", into))
    assert.deepStrictEqual(into, { m: 5, scale: 0 })
    assert.isTrue(parseMantissa("0.00000001", into))
    assert.deepStrictEqual(into, { m: 1, scale: 8 })
    assert.isFalse(parseMantissa("1234567890.123456", into))
  })
})
