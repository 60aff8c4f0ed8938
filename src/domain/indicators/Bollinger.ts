import type { Reading } from "./Indicator.ts"
import { assertPeriod, reading } from "./Indicator.ts"
import { makeRollingWindow } from "./RollingWindow.ts"

export interface BollingerReading {
  readonly middle: Reading
  readonly upper: Reading
  readonly lower: Reading
  /** (upper - lower) / middle: band width relative to the price. */
  readonly width: Reading
}

/**
 * Bollinger Bands (period, k) = (20, 2): middle = SMA(period), bands = middle
 * +/- k x the population standard deviation of the same window (Bollinger's
 * own definition divides by N, not N - 1). Ready after `period` closes.
 */
export const makeBollinger = (period = 20, k = 2) => {
  assertPeriod("Bollinger", period)
  const window = makeRollingWindow(period)
  return {
    update: (close: number): BollingerReading => {
      window.push(close)
      const seen = window.count()
      const mid = window.mean()
      const band = k * Math.sqrt(window.variance())
      return {
        middle: reading(mid, seen, period),
        upper: reading(mid + band, seen, period),
        lower: reading(mid - band, seen, period),
        width: reading(mid === 0 ? Number.NaN : (2 * band) / mid, seen, period)
      }
    }
  }
}
