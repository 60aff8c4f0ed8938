import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { PriceWindow } from "../../src/domain/quality/PriceWindow.ts"

describe("PriceWindow", () => {
  it("median and IQR are those of the last `capacity` prices, sorted afresh", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 20 }), fc.double({ min: 0, max: 1e6, noNaN: true })), {
          maxLength: 80
        }),
        (capacity, prices) => {
          const w = new PriceWindow(capacity)
          prices.forEach((p, i) => {
            w.push(p)
            const last = prices.slice(Math.max(0, i + 1 - capacity), i + 1).sort((a, b) => a - b)
            const q = (f: number) => {
              const pos = f * (last.length - 1)
              const k = Math.floor(pos)
              const lo = last[k] as number
              const hi = last[Math.min(k + 1, last.length - 1)] as number
              return lo + (hi - lo) * (pos - k)
            }
            assert.strictEqual(w.size, last.length)
            assert.strictEqual(w.median(), q(0.5))
            assert.strictEqual(w.iqr(), q(0.75) - q(0.25))
          })
        }
      )
    )
  })
})
