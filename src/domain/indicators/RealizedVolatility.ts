import type { Reading } from "./Indicator.ts"
import { assertPeriod, reading } from "./Indicator.ts"

/**
 * Realized volatility over the last `period` log returns of the close:
 * sqrt(sum(r^2) / period), r = ln(close / previous close), per bar (not
 * annualized: multiply by sqrt(bars per year) for that). The mean return is
 * taken as zero, the usual realized-variance convention. Needs period + 1 closes.
 *
 * The squares are summed afresh from the window on every bar (oldest first),
 * not kept as a rolling sum: after a jump slides out of the window, a rolling
 * sum keeps its rounding residue, and sqrt magnifies that residue when the
 * market has gone quiet (a 5 % error at rv ~ 1e-10 after a 0.5 % move). The
 * O(period) sum runs once per closed candle.
 */
export const makeRealizedVolatility = (period = 20) => {
  assertPeriod("realized volatility", period)
  const squares = new Float64Array(period)
  let next = 0
  let seen = 0
  let prev = Number.NaN
  return {
    update: (close: number): Reading => {
      seen++
      if (seen > 1) {
        const r = Math.log(close / prev)
        squares[next] = r * r
        next = next + 1 === period ? 0 : next + 1
      }
      prev = close
      let value = Number.NaN
      if (seen > period) {
        let sum = 0
        // `next` is the oldest square once the window is full.
        for (let k = 0; k < period; k++) sum += squares[(next + k) % period] ?? 0
        value = Math.sqrt(sum / period)
      }
      return reading(value, seen, period + 1)
    }
  }
}
