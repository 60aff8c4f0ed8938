import { assert, describe, it } from "@effect/vitest"
import * as fc from "fast-check"
import { addTradeId, newTradeIdSet } from "../../src/domain/candles/TradeIdSet.ts"

describe("TradeIdSet", () => {
  it("answers exactly like a Set<string> for any sequence of ids", () => {
    const idArb = fc.oneof(
      { weight: 6, arbitrary: fc.integer({ min: 0, max: 60 }).map(String) },
      {
        weight: 1,
        arbitrary: fc.constantFrom("007", "0", "00", "abc", "1e3", "-1", "", "999999999999999", "1000000000000000")
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 4 }) }
    )
    fc.assert(
      fc.property(fc.array(idArb, { maxLength: 200 }), (ids) => {
        const ranges = newTradeIdSet()
        const reference = new Set<string>()
        for (const id of ids) {
          const fresh = !reference.has(id)
          reference.add(id)
          assert.strictEqual(addTradeId(ranges, id), fresh, `id ${JSON.stringify(id)}`)
        }
        for (let i = 1; i < ranges.lo.length; i++) {
          assert.isAbove(ranges.lo[i] ?? 0, (ranges.hi[i - 1] ?? 0) + 1, "ranges stay disjoint and non-adjacent")
        }
      }),
      { numRuns: 1000 }
    )
  })

  it("keeps an in-order run of ids as one range", () => {
    const s = newTradeIdSet()
    for (let i = 1000; i < 6000; i++) addTradeId(s, String(i))
    assert.deepStrictEqual([s.lo, s.hi], [[1000], [5999]])
  })
})
