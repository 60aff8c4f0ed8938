import { Config, Duration, Effect, Layer, Option } from "effect"
import { RulePredictorLayer } from "../../layers/RulePredictor.ts"
import type { Predictor } from "../../services/Predictor.ts"

/**
 * Which Predictor the signals role and the backtest use:
 *   MF_PREDICTOR_URL unset  the rule-based predictors (trend following + mean reversion)
 *   MF_PREDICTOR_URL set    the rules plus the model served at that URL (HttpPredictor.ts
 *                           protocol); the model abstains (flat, weight 0, named in the
 *                           signal's provenance) while it is unavailable
 * with MF_PREDICTOR_TIMEOUT (default 2 seconds) and MF_PREDICTOR_WEIGHT (default 1).
 * The HTTP client is loaded only when a URL is set.
 */
export const PredictorConfig = Config.all({
  url: Config.option(Config.URL("MF_PREDICTOR_URL")),
  timeout: Config.Duration("MF_PREDICTOR_TIMEOUT").pipe(Config.withDefault(Duration.seconds(2))),
  weight: Config.Finite("MF_PREDICTOR_WEIGHT").pipe(Config.withDefault(1))
})

export const predictorLayer: Layer.Layer<Predictor, Config.ConfigError> = Layer.unwrap(
  Effect.gen(function* () {
    const c = yield* PredictorConfig
    if (Option.isNone(c.url)) return RulePredictorLayer()
    const { RulesWithHttpPredictorLayer } = yield* Effect.promise(() => import("../../layers/HttpPredictor.ts"))
    yield* Effect.logInfo(`predictor: rules + model at ${c.url.value.origin}${c.url.value.pathname}`)
    return RulesWithHttpPredictorLayer({ url: c.url.value.toString(), timeout: c.timeout, weight: c.weight })
  })
)
