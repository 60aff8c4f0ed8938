import type { Reading } from "./Indicator.ts"
import { assertPeriod, reading } from "./Indicator.ts"

/**
 * Wilder's RSI: average gain and loss of the close-to-close changes, seeded
 * with the plain mean of the first `period` changes, then smoothed as
 * avg = (avg * (period - 1) + current) / period. Needs period + 1 closes.
 * RSI = 100 - 100 / (1 + avgGain / avgLoss); 100 when there were no losses,
 * 50 when the price did not move at all.
 */
export const makeRsi = (period = 14) => {
  assertPeriod("RSI", period)
  const needed = period + 1
  let seen = 0
  let prev = Number.NaN
  let gain = 0
  let loss = 0
  let value = Number.NaN
  return {
    update: (close: number): Reading => {
      seen++
      if (seen > 1) {
        const change = close - prev
        const g = Math.max(change, 0)
        const l = change < 0 ? -change : 0
        if (seen <= needed) {
          gain += g
          loss += l
          if (seen === needed) {
            gain /= period
            loss /= period
          }
        } else {
          gain = (gain * (period - 1) + g) / period
          loss = (loss * (period - 1) + l) / period
        }
        if (seen >= needed) value = loss === 0 ? (gain === 0 ? 50 : 100) : 100 - 100 / (1 + gain / loss)
      }
      prev = close
      return reading(value, seen, needed)
    }
  }
}
