import { Schema } from "effect"
import { Decimal } from "./Decimal.ts"
import { Interval } from "./Events.ts"
import { Exchange, Symbol } from "./Identity.ts"
import { EpochMicros } from "./Time.ts"

/**
 * One indicator reading. An indicator still warming up says so (`ready: false`,
 * `value: null`, and how many inputs it has seen of how many it needs) instead of
 * emitting a number computed from too little data.
 */
export const IndicatorValue = Schema.Struct({
  name: Schema.NonEmptyString,
  value: Schema.NullOr(Schema.Finite),
  ready: Schema.Boolean,
  seen: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0)),
  needed: Schema.Number.check(Schema.isInt(), Schema.isGreaterThanOrEqualTo(0))
})
export type IndicatorValue = typeof IndicatorValue.Type

export const VolatilityRegime = Schema.Literals(["low", "normal", "high", "unknown"])
export type VolatilityRegime = typeof VolatilityRegime.Type

export const FeatureVector = Schema.TaggedStruct("FeatureVector", {
  exchange: Exchange,
  symbol: Symbol,
  interval: Interval,
  /** Open time of the closed candle these features were computed at. */
  openTime: EpochMicros,
  close: Decimal,
  indicators: Schema.Array(IndicatorValue),
  /** Agreement of trend direction across timeframes, in [-1, 1]; null until every timeframe is warm. */
  alignment: Schema.NullOr(Schema.Finite),
  regime: VolatilityRegime
})
export type FeatureVector = typeof FeatureVector.Type

export const Direction = Schema.Literals(["long", "short", "flat"])
export type Direction = typeof Direction.Type

export const SignalStage = Schema.Literals(["raw", "calibrated", "filtered", "final"])
export type SignalStage = typeof SignalStage.Type

export const Tier = Schema.Literals(["A", "B", "C", "D"])
export type Tier = typeof Tier.Type

const Probability = Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))

/** What one predictor said, kept on the signal as provenance. */
export const PredictorVote = Schema.Struct({
  predictor: Schema.NonEmptyString,
  direction: Direction,
  probability: Probability,
  weight: Schema.Finite
})
export type PredictorVote = typeof PredictorVote.Type

export const Signal = Schema.TaggedStruct("Signal", {
  /** Deterministic id (venue, symbol, interval, openTime, stage) so re-runs produce the same ids. */
  id: Schema.NonEmptyString,
  exchange: Exchange,
  symbol: Symbol,
  interval: Interval,
  stage: SignalStage,
  createdTs: EpochMicros,
  expiresTs: EpochMicros,
  direction: Direction,
  probability: Probability,
  confidence: Probability,
  tier: Tier,
  entry: Schema.NullOr(Decimal),
  stopLoss: Schema.NullOr(Decimal),
  takeProfit: Schema.NullOr(Decimal),
  /** Fraction of capital (capped fractional Kelly). */
  size: Schema.Finite,
  votes: Schema.Array(PredictorVote),
  features: FeatureVector,
  /** Why a filter rejected it, when it did (then direction is "flat"). */
  rejectedBy: Schema.optionalKey(Schema.String)
})
export type Signal = typeof Signal.Type
