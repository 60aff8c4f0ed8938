import { makeEma } from "./Ema.ts"
import type { Reading } from "./Indicator.ts"
import { reading } from "./Indicator.ts"

export interface MacdReading {
  readonly macd: Reading
  readonly signal: Reading
  readonly histogram: Reading
}

/**
 * MACD (fast, slow, signal) = (12, 26, 9) by default: line = EMA(fast) -
 * EMA(slow) of closes, defined once the slow EMA is (after `slow` closes);
 * signal = EMA(signal) of the line (seeded like every EMA here), so signal and
 * histogram are ready after slow + signal - 1 closes.
 */
export const makeMacd = (fast = 12, slow = 26, signal = 9) => {
  if (fast >= slow) throw new RangeError(`MACD fast period ${fast} must be below slow ${slow}`)
  const fastEma = makeEma(fast)
  const slowEma = makeEma(slow)
  const signalEma = makeEma(signal)
  const signalNeeded = slow + signal - 1
  let seen = 0
  let line = Number.NaN
  let sig = Number.NaN
  return {
    update: (close: number): MacdReading => {
      seen++
      const f = fastEma.update(close).value
      const s = slowEma.update(close).value
      if (f !== null && s !== null) {
        line = f - s
        sig = signalEma.update(line).value ?? Number.NaN
      }
      return {
        macd: reading(line, seen, slow),
        signal: reading(sig, seen, signalNeeded),
        histogram: reading(line - sig, seen, signalNeeded)
      }
    }
  }
}
