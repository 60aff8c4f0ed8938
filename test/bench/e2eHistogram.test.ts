import { assert, describe, it } from "@effect/vitest"
import fc from "fast-check"
import { Histogram } from "../../bench/e2e/Histogram.ts"

/**
 * The e2e harness reports latency percentiles from this histogram, so its
 * promise is the figure's honesty: a reported percentile is never below the
 * exact one and at most `relativeError` above it, for any data.
 */
const exactPercentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] ?? 0

const values = fc.array(
  fc.oneof(fc.nat(300), fc.integer({ min: 0, max: 50_000 }), fc.integer({ min: 0, max: 2 ** 40 })),
  { minLength: 1, maxLength: 400 }
)
const percent = fc.oneof(fc.constantFrom(50, 90, 99, 99.9, 100), fc.double({ min: 0.01, max: 100, noNaN: true }))

describe("bench/e2e Histogram", () => {
  it("percentiles are within [exact, exact x (1 + relativeError)] for any data and any p", () => {
    fc.assert(
      fc.property(values, percent, fc.constantFrom(4, 7, 8, 10), (xs, p, bits) => {
        const h = new Histogram(bits)
        for (const x of xs) h.record(x)
        const sorted = [...xs].sort((a, b) => a - b)
        const exact = exactPercentile(sorted, p)
        const got = h.percentile(p)
        assert.isAtLeast(got, exact)
        assert.isAtMost(got, exact * (1 + h.relativeError))
      }),
      { numRuns: 500 }
    )
  })

  it("max, min, count and mean are exact; values below 2^bits are exact", () => {
    fc.assert(
      fc.property(values, (xs) => {
        const h = new Histogram(8)
        for (const x of xs) h.record(x)
        const s = h.summary()
        assert.strictEqual(s.count, xs.length)
        assert.strictEqual(s.max, Math.max(...xs))
        assert.strictEqual(h.min, Math.min(...xs))
        assert.closeTo(s.mean, xs.reduce((a, b) => a + b, 0) / xs.length, 1e-6 * Math.max(1, s.mean))
        for (const x of xs.filter((v) => v < 256)) assert.strictEqual(h.highestIn(h.indexOf(x)), x)
      })
    )
  })

  it("bucket index is monotone in the value and every value lies inside its bucket", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 45 }), fc.integer({ min: 0, max: 2 ** 45 }), (a, b) => {
        const h = new Histogram(8)
        const [lo, hi] = a <= b ? [a, b] : [b, a]
        assert.isAtMost(h.indexOf(lo), h.indexOf(hi))
        assert.isAtLeast(h.highestIn(h.indexOf(hi)), hi)
        if (h.indexOf(hi) > 0) assert.isBelow(h.highestIn(h.indexOf(hi) - 1), hi)
      })
    )
  })

  it("merging snapshots equals recording everything in one histogram", () => {
    fc.assert(
      fc.property(values, values, (xs, ys) => {
        const a = new Histogram()
        const b = new Histogram()
        const all = new Histogram()
        for (const x of xs) {
          a.record(x)
          all.record(x)
        }
        for (const y of ys) {
          b.record(y)
          all.record(y)
        }
        const merged = Histogram.fromSnapshot(JSON.parse(JSON.stringify(a.snapshot())))
        merged.merge(JSON.parse(JSON.stringify(b.snapshot())))
        assert.deepStrictEqual(merged.snapshot(), all.snapshot())
      })
    )
  })
})
