import type { Direction, FeatureVector, PredictorVote } from "../Derived.ts"
import { indicatorValue } from "../features/FeatureEngine.ts"
import type { IndicatorPeriods } from "../features/IndicatorSet.ts"
import { DEFAULT_PERIODS, indicatorNames } from "../features/IndicatorSet.ts"

/**
 * The default rule-based predictors. Their probabilities are heuristics meant to
 * be calibrated (Calibration.ts) against backtest outcomes, not truths: each
 * says "flat" at 0.5 when its inputs are still warming up.
 */
export interface RuleWeights {
  readonly trend: number
  readonly meanReversion: number
}

export const DEFAULT_RULE_WEIGHTS: RuleWeights = { trend: 0.6, meanReversion: 0.4 }

const flat = (predictor: string, weight: number): PredictorVote => ({
  predictor,
  direction: "flat",
  probability: 0.5,
  weight
})

const vote = (predictor: string, direction: Direction, probability: number, weight: number): PredictorVote => ({
  predictor,
  direction,
  probability: Math.min(1, Math.max(0, probability)),
  weight
})

/**
 * Trend following: long when the fast EMA is above the slow one and the MACD
 * histogram agrees (momentum still building), short in the mirror case. The
 * EMA spread in ATRs sets the conviction: 0.5 + 0.25 tanh(|spread| / ATR).
 */
export const trendFollowing = (fv: FeatureVector, weight: number, periods: IndicatorPeriods = DEFAULT_PERIODS) => {
  const n = indicatorNames(periods)
  const fast = indicatorValue(fv, n.emaFast)
  const slow = indicatorValue(fv, n.emaSlow)
  const hist = indicatorValue(fv, n.macdHist)
  const atr = indicatorValue(fv, n.atr)
  if (fast === null || slow === null || hist === null || atr === null || atr <= 0) return flat("trend", weight)
  const spread = (fast - slow) / atr
  if (spread === 0 || Math.sign(spread) !== Math.sign(hist)) return flat("trend", weight)
  return vote("trend", spread > 0 ? "long" : "short", 0.5 + 0.25 * Math.tanh(Math.abs(spread)), weight)
}

/**
 * Mean reversion: long when RSI is oversold (< 30) and the close is at or below
 * the lower Bollinger band, short when overbought (> 70) at or above the upper
 * band. Probability 0.55 + 0.2 x how far RSI is past the threshold (0..1).
 */
export const meanReversion = (fv: FeatureVector, weight: number, periods: IndicatorPeriods = DEFAULT_PERIODS) => {
  const n = indicatorNames(periods)
  const rsi = indicatorValue(fv, n.rsi)
  const upper = indicatorValue(fv, n.bbUpper)
  const lower = indicatorValue(fv, n.bbLower)
  if (rsi === null || upper === null || lower === null) return flat("mean-reversion", weight)
  const close = Number(fv.close)
  if (rsi < 30 && close <= lower) return vote("mean-reversion", "long", 0.55 + (0.2 * (30 - rsi)) / 30, weight)
  if (rsi > 70 && close >= upper) return vote("mean-reversion", "short", 0.55 + (0.2 * (rsi - 70)) / 30, weight)
  return flat("mean-reversion", weight)
}

export const ruleVotes = (
  fv: FeatureVector,
  weights: RuleWeights = DEFAULT_RULE_WEIGHTS,
  periods: IndicatorPeriods = DEFAULT_PERIODS
): ReadonlyArray<PredictorVote> => [
  trendFollowing(fv, weights.trend, periods),
  meanReversion(fv, weights.meanReversion, periods)
]
