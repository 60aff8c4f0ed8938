import { Effect, Layer } from "effect"
import { Command, Flag } from "effect/cli"
import { groupFlag, parseIntervals } from "./chainFlags.ts"
import { LOW_VOLUME_PRODUCER, runRoleCommand } from "./roleCommand.ts"

/** `marketflow signals`: the signals role (features.* -> signals.raw|calibrated|filtered|final). */
export const signalsCommand = Command.make(
  "signals",
  {
    intervals: Flag.String("intervals").pipe(
      Flag.withDescription("Feature intervals to read"),
      Flag.withDefault("1m,5m,15m,1h")
    ),
    group: groupFlag("signals"),
    concurrency: Flag.Int("concurrency").pipe(
      Flag.withDescription("Vectors predicted at once (helps an HTTP model; output order is kept)"),
      Flag.withDefault(1)
    )
  },
  Effect.fn(function* (f) {
    const intervals = yield* parseIntervals("intervals", f.intervals)
    const { PredictorConfig, predictorLayer } = yield* Effect.promise(() => import("../roles/PredictorProfile.ts"))
    yield* runRoleCommand(
      { role: "signals", needsSharedBus: true, configs: [PredictorConfig], defaults: LOW_VOLUME_PRODUCER },
      ({ profile, stop }) =>
        Effect.gen(function* () {
          const { runSignals } = yield* Effect.promise(() => import("../roles/StreamRoles.ts"))
          yield* runSignals({
            group: f.group,
            intervals,
            concurrency: Math.max(1, f.concurrency),
            stop,
            catalog: profile.catalog
          }).pipe(Effect.provide(Layer.fresh(predictorLayer)))
        })
    )
  })
).pipe(
  Command.withDescription(
    "Feature vectors -> predictors (rules; plus a model over HTTP when MF_PREDICTOR_URL is set) -> calibrated, filtered, " +
      "sized signals on signals.raw, signals.calibrated, signals.filtered and signals.final (MF_PROFILE=live)."
  )
)
