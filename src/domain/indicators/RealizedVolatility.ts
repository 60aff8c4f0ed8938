import type { Reading } from "./Indicator.ts"
import { assertPeriod, reading } from "./Indicator.ts"
import { makeRollingWindow } from "./RollingWindow.ts"

/**
 * Realized volatility over the last `period` log returns of the close:
 * sqrt(sum(r^2) / period), r = ln(close / previous close), per bar (not
 * annualized: multiply by sqrt(bars per year) for that). The mean return is
 * taken as zero, the usual realized-variance convention. Needs period + 1 closes.
 */
export const makeRealizedVolatility = (period = 20) => {
  assertPeriod("realized volatility", period)
  const squares = makeRollingWindow(period)
  let seen = 0
  let prev = Number.NaN
  return {
    update: (close: number): Reading => {
      seen++
      if (seen > 1) {
        const r = Math.log(close / prev)
        squares.push(r * r)
      }
      prev = close
      const value = squares.full() ? Math.sqrt(Math.max(0, squares.sum()) / period) : Number.NaN
      return reading(value, seen, period + 1)
    }
  }
}
