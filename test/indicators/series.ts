import * as fc from "fast-check"
import type { BarIn } from "./reference.ts"

/**
 * Random price paths: a multiplicative random walk from a level between 0.01
 * and 100 000, with flat stretches (repeated closes) and jumps, long enough to
 * cross the rolling windows' re-summing points several times.
 */
const step = fc.oneof(
  { weight: 6, arbitrary: fc.double({ min: -0.03, max: 0.03, noNaN: true }) },
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 1, arbitrary: fc.double({ min: -0.3, max: 0.3, noNaN: true }) }
)

export const closesArb = (maxLength = 400) =>
  fc
    .tuple(fc.double({ min: 0.01, max: 100_000, noNaN: true }), fc.array(step, { minLength: 0, maxLength }))
    .map(([start, steps]) => {
      const out = [start]
      for (const s of steps) out.push((out[out.length - 1] ?? start) * (1 + s))
      return out
    })

const MINUTE = 60_000_000
const DAY0 = 1_759_968_000_000_000

export const barsArb = (maxLength = 400) =>
  fc
    .tuple(
      closesArb(maxLength),
      fc.array(fc.tuple(fc.double({ min: 0, max: 0.02, noNaN: true }), fc.double({ min: 0, max: 0.02, noNaN: true })), {
        minLength: 1
      }),
      fc.array(fc.double({ min: 0, max: 50, noNaN: true }), { minLength: 1 }),
      fc.integer({ min: 1, max: 600 })
    )
    .map(
      ([closes, ranges, volumes, minutesPerBar]): Array<BarIn> =>
        closes.map((close, i) => {
          const [up, down] = ranges[i % ranges.length] ?? [0, 0]
          const volume = volumes[i % volumes.length] ?? 0
          return {
            openTime: DAY0 + i * minutesPerBar * MINUTE,
            high: close * (1 + up),
            low: close * (1 - down),
            close,
            volume,
            quoteVolume: volume * close * (1 + (up - down) / 3)
          }
        })
    )
