import type { Effect } from "effect"
import { Context, Schema } from "effect"
import type { FeatureVector, PredictorVote } from "../domain/Derived.ts"

/**
 * The Predictor port: anything that maps a feature vector to votes (direction +
 * probability, with the weight the ensemble gives it). The signal stages only
 * see this port, so rule-based predictors, a model served over HTTP, or both
 * combined are swapped by providing another layer (src/layers/*Predictor*.ts),
 * never by touching the pipeline.
 */
export const PredictorErrorReason = Schema.Literals([
  "Unavailable", // transport failure or 5xx after retries: worth retrying later
  "Timeout",
  "BadResponse" // the model answered something that is not a valid vote: a bug to fix, not to retry
])
export type PredictorErrorReason = typeof PredictorErrorReason.Type

export class PredictorError extends Schema.TaggedError<PredictorError>()("PredictorError", {
  predictor: Schema.String,
  reason: PredictorErrorReason,
  detail: Schema.String
}) {
  override get message(): string {
    return `predictor ${this.predictor} ${this.reason}: ${this.detail}`
  }
}

export interface PredictorShape {
  /** Names the predictor in logs and in votes' provenance. */
  readonly name: string
  readonly predict: (features: FeatureVector) => Effect.Effect<ReadonlyArray<PredictorVote>, PredictorError>
}

export class Predictor extends Context.Service<Predictor, PredictorShape>()("marketflow/Predictor") {}
