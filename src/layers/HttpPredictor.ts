import { Duration, Effect, Layer, Schedule, Schema } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpClientResponse } from "effect/http"
import type { FeatureVector, PredictorVote } from "../domain/Derived.ts"
import { Direction, FeatureVector as FeatureVectorSchema } from "../domain/Derived.ts"
import type { PredictorShape } from "../services/Predictor.ts"
import { Predictor, PredictorError } from "../services/Predictor.ts"
import { makeRulePredictor } from "./RulePredictor.ts"

/**
 * A model served over HTTP, as a Predictor. Protocol (JSON both ways):
 *   POST <url>  {"features": <FeatureVector as on the bus>}
 *   200         {"direction": "long"|"short"|"flat", "probability": 0..1}
 * Transport errors and 5xx are retried (exponential backoff, `retries` times)
 * then reported as Unavailable; no answer within `timeout` is Timeout; any other
 * status or a body that does not match is BadResponse.
 */
export interface HttpPredictorOptions {
  readonly url: string
  /** Name in votes' provenance; default "http". */
  readonly name?: string
  /** Weight of its vote in the ensemble; default 1. */
  readonly weight?: number
  readonly timeout?: Duration.Input
  readonly retries?: number
  /** First retry delay, doubled each time; default 50 millis. */
  readonly retryBase?: Duration.Input
}

const ModelAnswer = Schema.Struct({
  direction: Direction,
  probability: Schema.Number.check(Schema.isBetween({ minimum: 0, maximum: 1 }))
})
const encodeFeatures = Schema.encodeSync(FeatureVectorSchema)

class Transient extends Schema.TaggedError<Transient>()("Transient", { detail: Schema.String }) {}

export const makeHttpPredictor = (options: HttpPredictorOptions) =>
  Effect.gen(function* () {
    const name = options.name ?? "http"
    const weight = options.weight ?? 1
    const timeout = Duration.fromInputUnsafe(options.timeout ?? "2 seconds")
    const client = yield* HttpClient.HttpClient
    const fail = (reason: PredictorError["reason"], detail: string) =>
      new PredictorError({ predictor: name, reason, detail })

    const once = (features: FeatureVector): Effect.Effect<typeof ModelAnswer.Type, Transient | PredictorError> =>
      Effect.gen(function* () {
        const response = yield* HttpClientRequest.post(options.url).pipe(
          HttpClientRequest.acceptJson,
          HttpClientRequest.bodyJsonUnsafe({ features: encodeFeatures(features) }),
          client.execute,
          Effect.mapError((e) => new Transient({ detail: e.message }))
        )
        if (response.status >= 500) return yield* new Transient({ detail: `HTTP ${response.status}` })
        if (response.status !== 200) return yield* fail("BadResponse", `HTTP ${response.status}`)
        return yield* HttpClientResponse.schemaBodyJson(ModelAnswer)(response).pipe(
          Effect.mapError((e) => fail("BadResponse", e.message))
        )
      })

    const predict = Effect.fn("HttpPredictor.predict")(function* (features: FeatureVector) {
      const answer = yield* once(features).pipe(
        Effect.retry({
          schedule: Schedule.exponential(options.retryBase ?? "50 millis"),
          times: options.retries ?? 2,
          while: (e) => e._tag === "Transient"
        }),
        Effect.mapError((e) => (e._tag === "Transient" ? fail("Unavailable", e.detail) : e)),
        Effect.timeoutOrElse({
          duration: timeout,
          orElse: () => Effect.fail(fail("Timeout", `no answer within ${Duration.format(timeout)}`))
        })
      )
      const vote: PredictorVote = {
        predictor: name,
        direction: answer.direction,
        probability: answer.probability,
        weight
      }
      return [vote] as ReadonlyArray<PredictorVote>
    })
    return { name, predict } satisfies PredictorShape
  })

/**
 * Several predictors as one: their votes are concatenated for the ensemble. With
 * `onError: "abstain"` (default) a failing member casts a flat, zero-weight vote
 * named "<name>:<reason>" instead, so the signal still comes out and its
 * provenance shows the model was missing; "fail" propagates the error.
 */
export const combinePredictors = (
  members: ReadonlyArray<PredictorShape>,
  onError: "abstain" | "fail" = "abstain"
): PredictorShape => ({
  name: members.map((m) => m.name).join("+"),
  predict: (features) =>
    Effect.forEach(members, (m) =>
      onError === "fail"
        ? m.predict(features)
        : m
            .predict(features)
            .pipe(
              Effect.catchTag("PredictorError", (e) =>
                Effect.logWarning(`predictor ${m.name} abstains: ${e.message}`).pipe(
                  Effect.as([
                    { predictor: `${m.name}:${e.reason}`, direction: "flat", probability: 0.5, weight: 0 }
                  ] as ReadonlyArray<PredictorVote>)
                )
              )
            )
    ).pipe(Effect.map((all) => all.flat()))
})

/** The model alone. */
export const HttpPredictorLayer = (options: HttpPredictorOptions) =>
  Layer.effect(Predictor, Effect.map(makeHttpPredictor(options), Predictor.of)).pipe(
    Layer.provide(FetchHttpClient.layer)
  )

/** The rule-based predictors plus the model, the model abstaining when it is unavailable. */
export const RulesWithHttpPredictorLayer = (options: HttpPredictorOptions) =>
  Layer.effect(
    Predictor,
    Effect.map(makeHttpPredictor(options), (http) => Predictor.of(combinePredictors([makeRulePredictor(), http])))
  ).pipe(Layer.provide(FetchHttpClient.layer))
