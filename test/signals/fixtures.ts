import { unsafeDecimal } from "../../src/domain/Decimal.ts"
import type { FeatureVector, IndicatorValue } from "../../src/domain/Derived.ts"
import { unsafeSymbol } from "../../src/domain/Identity.ts"
import { micros } from "../../src/domain/Time.ts"

export const T0 = 1_759_968_000_000_000

const ready = (name: string, value: number): IndicatorValue => ({ name, value, ready: true, seen: 100, needed: 20 })

/** A hand-written feature vector with every default indicator warm; override what a test is about. */
export const featureVector = (
  values: Partial<Record<string, number>> = {},
  rest: Partial<Omit<FeatureVector, "indicators">> = {}
): FeatureVector => {
  const base: Record<string, number> = {
    sma_20: 100,
    ema_9: 101,
    ema_21: 100,
    rsi_14: 55,
    macd: 0.5,
    macd_signal: 0.3,
    macd_hist: 0.2,
    bb_middle: 100,
    bb_upper: 104,
    bb_lower: 96,
    bb_width: 0.08,
    atr_14: 2,
    vwap: 100,
    rv_20: 0.001,
    rv_100: 0.001
  }
  const merged = { ...base, ...values }
  return {
    _tag: "FeatureVector",
    exchange: "binance",
    symbol: unsafeSymbol("BTC-USDT"),
    interval: "1m",
    openTime: micros(T0),
    close: unsafeDecimal("100.50"),
    indicators: Object.entries(merged).map(([k, v]) => ready(k, v ?? 0)),
    alignment: 0.5,
    regime: "normal",
    ...rest
  }
}
