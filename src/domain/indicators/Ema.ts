import type { Reading } from "./Indicator.ts"
import { assertPeriod, reading } from "./Indicator.ts"

/**
 * Exponential moving average with alpha = 2 / (period + 1), seeded with the
 * simple average of the first `period` values (the textbook seed), so it is
 * ready after `period` values and does not depend on an arbitrary first value.
 */
export const makeEma = (period: number) => {
  assertPeriod("EMA", period)
  const alpha = 2 / (period + 1)
  let seen = 0
  let seedSum = 0
  let ema = Number.NaN
  return {
    update: (x: number): Reading => {
      seen++
      if (seen < period) seedSum += x
      else if (seen === period) ema = (seedSum + x) / period
      else ema = alpha * x + (1 - alpha) * ema
      return reading(ema, seen, period)
    }
  }
}
