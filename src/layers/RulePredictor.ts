import { Effect, Layer } from "effect"
import type { FeatureVector } from "../domain/Derived.ts"
import type { IndicatorPeriods } from "../domain/features/IndicatorSet.ts"
import type { RuleWeights } from "../domain/signals/RulePredictors.ts"
import { DEFAULT_RULE_WEIGHTS, ruleVotes } from "../domain/signals/RulePredictors.ts"
import type { PredictorShape } from "../services/Predictor.ts"
import { Predictor } from "../services/Predictor.ts"

/** The default predictors (trend following + mean reversion), pure and in-process. */
export const makeRulePredictor = (
  options: { readonly weights?: RuleWeights; readonly periods?: IndicatorPeriods } = {}
): PredictorShape => ({
  name: "rules",
  predict: (features: FeatureVector) =>
    Effect.sync(() => ruleVotes(features, options.weights ?? DEFAULT_RULE_WEIGHTS, options.periods))
})

export const RulePredictorLayer = (options: Parameters<typeof makeRulePredictor>[0] = {}) =>
  Layer.succeed(Predictor, Predictor.of(makeRulePredictor(options)))
