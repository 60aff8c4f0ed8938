import type { Reading } from "./Indicator.ts"
import { reading } from "./Indicator.ts"

const DAY_MICROS = 86_400_000_000

/**
 * Session VWAP anchored at UTC midnight (crypto trades around the clock, so the
 * UTC day is the usual session): sum of quote volume / sum of base volume over
 * the session's bars. Candles built from trades carry quoteVolume = sum(price x
 * size) exactly, so this is the trade-weighted VWAP, not a typical-price
 * estimate. Ready as soon as the session has volume; `seen` counts the
 * session's bars.
 */
export const makeVwap = (sessionMicros = DAY_MICROS) => {
  let session = Number.NaN
  let seen = 0
  let quote = 0
  let base = 0
  return {
    update: (bar: { readonly openTime: number; readonly volume: number; readonly quoteVolume: number }): Reading => {
      const s = bar.openTime - (bar.openTime % sessionMicros)
      if (s !== session) {
        session = s
        seen = 0
        quote = 0
        base = 0
      }
      seen++
      quote += bar.quoteVolume
      base += bar.volume
      return reading(base > 0 ? quote / base : Number.NaN, seen, 1)
    }
  }
}
