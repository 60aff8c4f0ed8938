import type { IndicatorValue } from "../Derived.ts"
import { makeAtr } from "../indicators/Atr.ts"
import { makeBollinger } from "../indicators/Bollinger.ts"
import { makeEma } from "../indicators/Ema.ts"
import type { Bar, Reading } from "../indicators/Indicator.ts"
import { toIndicatorValue } from "../indicators/Indicator.ts"
import { makeMacd } from "../indicators/Macd.ts"
import { makeRealizedVolatility } from "../indicators/RealizedVolatility.ts"
import { makeRsi } from "../indicators/Rsi.ts"
import { makeSma } from "../indicators/Sma.ts"
import { makeVwap } from "../indicators/Vwap.ts"

/** Periods of the indicators in a feature vector; the defaults are the textbook ones. */
export interface IndicatorPeriods {
  readonly sma: number
  readonly emaFast: number
  readonly emaSlow: number
  readonly rsi: number
  readonly macd: readonly [fast: number, slow: number, signal: number]
  readonly bollinger: readonly [period: number, k: number]
  readonly atr: number
  readonly rv: number
  /** Long realized-volatility window the short one is compared with for the regime. */
  readonly rvLong: number
}

export const DEFAULT_PERIODS: IndicatorPeriods = {
  sma: 20,
  emaFast: 9,
  emaSlow: 21,
  rsi: 14,
  macd: [12, 26, 9],
  bollinger: [20, 2],
  atr: 14,
  rv: 20,
  rvLong: 100
}

/** The names the indicators carry in a FeatureVector (predictors look them up by these). */
export const indicatorNames = (p: IndicatorPeriods = DEFAULT_PERIODS) => ({
  sma: `sma_${p.sma}`,
  emaFast: `ema_${p.emaFast}`,
  emaSlow: `ema_${p.emaSlow}`,
  rsi: `rsi_${p.rsi}`,
  macd: "macd",
  macdSignal: "macd_signal",
  macdHist: "macd_hist",
  bbMiddle: "bb_middle",
  bbUpper: "bb_upper",
  bbLower: "bb_lower",
  bbWidth: "bb_width",
  atr: `atr_${p.atr}`,
  vwap: "vwap",
  rv: `rv_${p.rv}`,
  rvLong: `rv_${p.rvLong}`
})

export interface IndicatorSetReading {
  readonly values: ReadonlyArray<IndicatorValue>
  /** Sign of fast EMA - slow EMA, null while the slow EMA warms up. */
  readonly trend: -1 | 0 | 1 | null
  /** Short / long realized volatility, null until both are warm. */
  readonly volRatio: number | null
}

/** All indicators of one instrument at one interval, updated together per closed candle. */
export const makeIndicatorSet = (p: IndicatorPeriods = DEFAULT_PERIODS) => {
  const names = indicatorNames(p)
  const sma = makeSma(p.sma)
  const emaFast = makeEma(p.emaFast)
  const emaSlow = makeEma(p.emaSlow)
  const rsi = makeRsi(p.rsi)
  const macd = makeMacd(...p.macd)
  const bb = makeBollinger(...p.bollinger)
  const atr = makeAtr(p.atr)
  const vwap = makeVwap()
  const rv = makeRealizedVolatility(p.rv)
  const rvLong = makeRealizedVolatility(p.rvLong)
  return {
    update: (bar: Bar): IndicatorSetReading => {
      const fast = emaFast.update(bar.close)
      const slow = emaSlow.update(bar.close)
      const m = macd.update(bar.close)
      const b = bb.update(bar.close)
      const short = rv.update(bar.close)
      const long = rvLong.update(bar.close)
      const pairs: ReadonlyArray<readonly [string, Reading]> = [
        [names.sma, sma.update(bar.close)],
        [names.emaFast, fast],
        [names.emaSlow, slow],
        [names.rsi, rsi.update(bar.close)],
        [names.macd, m.macd],
        [names.macdSignal, m.signal],
        [names.macdHist, m.histogram],
        [names.bbMiddle, b.middle],
        [names.bbUpper, b.upper],
        [names.bbLower, b.lower],
        [names.bbWidth, b.width],
        [names.atr, atr.update(bar)],
        [names.vwap, vwap.update(bar)],
        [names.rv, short],
        [names.rvLong, long]
      ]
      const trend =
        fast.value === null || slow.value === null
          ? null
          : fast.value > slow.value
            ? 1
            : fast.value < slow.value
              ? -1
              : 0
      const volRatio = short.value === null || long.value === null || long.value === 0 ? null : short.value / long.value
      return { values: pairs.map(([name, r]) => toIndicatorValue(name, r)), trend, volRatio }
    }
  }
}
