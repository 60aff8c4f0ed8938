import { windowStart } from "../candles/TradeOrder.ts"
import { add, compare } from "../Decimal.ts"
import type { FeatureVector, VolatilityRegime } from "../Derived.ts"
import type { Candle, Interval } from "../Events.ts"
import { INTERVAL_MICROS } from "../Events.ts"
import { micros } from "../Time.ts"
import type { IndicatorPeriods, IndicatorSetReading } from "./IndicatorSet.ts"
import { DEFAULT_PERIODS, makeIndicatorSet } from "./IndicatorSet.ts"

/**
 * Feature vectors per instrument and interval, from the instrument's closed
 * base-interval (1m) candles only. Larger intervals are rolled up here from the
 * base candles instead of being read from their own topics: the output is then
 * a function of one ordered sequence per instrument (one partition on the bus),
 * so it is the same live, after a restart and in a backtest, whatever the
 * interleaving of topics. The rolled-up candles equal the candle stage's (see
 * rollUp). A larger window is complete when the base candle ending with it
 * arrives, or else when the first base candle after it arrives.
 *
 * For every base candle: update the base indicators, then complete/extend the
 * larger windows in ascending interval order (a window may complete twice in
 * one step: the previous one, skipped over by a gap, and the current one). Each
 * completed window updates its indicators and yields a vector at once, with the
 * alignment of all timeframes at that moment.
 * - alignment = mean over the timeframes of sign(EMA fast - EMA slow), in
 *   [-1, 1]; null until every timeframe's slow EMA is warm.
 * - regime from short / long realized volatility of the same interval: below
 *   `lowBelow` "low", above `highAbove` "high", else "normal"; "unknown" while
 *   warming up.
 * Open candles and candles of other intervals are ignored (counted); a base
 * candle at or before the last one processed for its instrument (a bus
 * redelivery) is skipped, which makes the engine idempotent under replays.
 */
export interface FeatureEngineOptions {
  /** Base interval first, then larger multiples of it. Default 1m, 5m, 15m, 1h. */
  readonly intervals?: ReadonlyArray<Interval>
  readonly periods?: IndicatorPeriods
  readonly regime?: { readonly lowBelow: number; readonly highAbove: number }
}

export interface FeatureEngineStats {
  readonly processed: number
  readonly ignored: number
  readonly stale: number
  readonly emitted: number
}

interface Timeframe {
  readonly interval: Interval
  readonly size: number
  readonly indicators: ReturnType<typeof makeIndicatorSet>
  last: IndicatorSetReading | undefined
  /** Roll-up window in progress (larger intervals only). */
  pending: Candle | undefined
}

interface InstrumentFeatures {
  readonly timeframes: ReadonlyArray<Timeframe>
  lastBaseOpen: number
}

const toBar = (c: Candle) => ({
  openTime: c.openTime,
  high: Number(c.high),
  low: Number(c.low),
  close: Number(c.close),
  volume: Number(c.volume),
  quoteVolume: Number(c.quoteVolume)
})

const merge = (acc: Candle, c: Candle): Candle => ({
  ...acc,
  exchangeTs: c.exchangeTs,
  receivedTs: micros(Math.max(acc.receivedTs, c.receivedTs)),
  high: compare(c.high, acc.high) > 0 ? c.high : acc.high,
  low: compare(c.low, acc.low) < 0 ? c.low : acc.low,
  close: c.close,
  volume: add(acc.volume, c.volume),
  quoteVolume: add(acc.quoteVolume, c.quoteVolume),
  trades: acc.trades + c.trades
})

export const makeFeatureEngine = (options: FeatureEngineOptions = {}) => {
  const intervals = options.intervals ?? ["1m", "5m", "15m", "1h"]
  const base = intervals[0]
  if (base === undefined) throw new RangeError("FeatureEngine needs at least one interval")
  const baseSize = INTERVAL_MICROS[base]
  for (const i of intervals.slice(1)) {
    if (INTERVAL_MICROS[i] % baseSize !== 0 || INTERVAL_MICROS[i] <= baseSize) {
      throw new RangeError(`interval ${i} is not a larger multiple of ${base}`)
    }
  }
  const periods = options.periods ?? DEFAULT_PERIODS
  const lowBelow = options.regime?.lowBelow ?? 0.8
  const highAbove = options.regime?.highAbove ?? 1.25
  const instruments = new Map<string, InstrumentFeatures>()
  let processed = 0
  let ignored = 0
  let stale = 0
  let emitted = 0

  const regimeOf = (ratio: number | null): VolatilityRegime =>
    ratio === null ? "unknown" : ratio < lowBelow ? "low" : ratio > highAbove ? "high" : "normal"

  const alignmentOf = (s: InstrumentFeatures): number | null => {
    let sum = 0
    for (const tf of s.timeframes) {
      const t = tf.last?.trend
      if (t === null || t === undefined) return null
      sum += t
    }
    return sum / s.timeframes.length
  }

  const vectorOf = (s: InstrumentFeatures, tf: Timeframe, c: Candle): FeatureVector => ({
    _tag: "FeatureVector",
    exchange: c.exchange,
    symbol: c.symbol,
    interval: tf.interval,
    openTime: c.openTime,
    close: c.close,
    indicators: tf.last?.values ?? [],
    alignment: alignmentOf(s),
    regime: regimeOf(tf.last?.volRatio ?? null)
  })

  const onCandle = (c: Candle): ReadonlyArray<FeatureVector> => {
    if (!c.closed || c.interval !== base) {
      ignored++
      return []
    }
    const key = `${c.exchange}\u0000${c.symbol}`
    let s = instruments.get(key)
    if (s === undefined) {
      s = {
        timeframes: intervals.map((interval) => ({
          interval,
          size: INTERVAL_MICROS[interval],
          indicators: makeIndicatorSet(periods),
          last: undefined,
          pending: undefined
        })),
        lastBaseOpen: Number.NEGATIVE_INFINITY
      }
      instruments.set(key, s)
    }
    if (c.openTime <= s.lastBaseOpen) {
      stale++
      return []
    }
    s.lastBaseOpen = c.openTime
    processed++
    const out: Array<FeatureVector> = []
    const complete = (tf: Timeframe, done: Candle) => {
      tf.last = tf.indicators.update(toBar(done))
      out.push(vectorOf(s, tf, done))
    }
    for (const tf of s.timeframes) {
      if (tf.size === baseSize) {
        complete(tf, c)
        continue
      }
      const open = windowStart(c.openTime, tf.size)
      if (tf.pending !== undefined && tf.pending.openTime !== open) {
        complete(tf, tf.pending)
        tf.pending = undefined
      }
      const pending =
        tf.pending === undefined
          ? { ...c, interval: tf.interval, openTime: micros(open), closeTime: micros(open + tf.size) }
          : merge(tf.pending, c)
      if (c.closeTime === pending.closeTime) {
        tf.pending = undefined
        complete(tf, pending)
      } else tf.pending = pending
    }
    emitted += out.length
    return out
  }

  /** Completes every pending roll-up window (end of a file or replay). */
  const flush = (): ReadonlyArray<FeatureVector> => {
    const out: Array<FeatureVector> = []
    for (const s of instruments.values()) {
      for (const tf of s.timeframes) {
        const done = tf.pending
        if (done === undefined) continue
        tf.pending = undefined
        tf.last = tf.indicators.update(toBar(done))
        out.push(vectorOf(s, tf, done))
      }
    }
    emitted += out.length
    return out
  }

  const stats = (): FeatureEngineStats => ({ processed, ignored, stale, emitted })

  return { intervals, onCandle, flush, stats }
}

export type FeatureEngine = ReturnType<typeof makeFeatureEngine>

/** Reads one indicator's value from a vector (null when absent or warming up). */
export const indicatorValue = (fv: FeatureVector, name: string): number | null => {
  for (const v of fv.indicators) if (v.name === name) return v.value
  return null
}
