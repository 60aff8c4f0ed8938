import type { Reading } from "./Indicator.ts"
import { assertPeriod, reading } from "./Indicator.ts"

/**
 * Wilder's Average True Range. The true range of a bar needs the previous
 * close: max(high - low, |high - prevClose|, |low - prevClose|), so the first
 * bar has none (TA-Lib's convention). ATR is seeded with the mean of the first
 * `period` true ranges and then smoothed as (atr * (period - 1) + tr) / period:
 * ready after period + 1 bars.
 */
export const makeAtr = (period = 14) => {
  assertPeriod("ATR", period)
  const needed = period + 1
  let seen = 0
  let prevClose = Number.NaN
  let atr = 0
  return {
    update: (bar: { readonly high: number; readonly low: number; readonly close: number }): Reading => {
      seen++
      if (seen > 1) {
        const tr = Math.max(bar.high - bar.low, Math.abs(bar.high - prevClose), Math.abs(bar.low - prevClose))
        if (seen <= needed) {
          atr += tr
          if (seen === needed) atr /= period
        } else atr = (atr * (period - 1) + tr) / period
      }
      prevClose = bar.close
      return reading(atr, seen, needed)
    }
  }
}
