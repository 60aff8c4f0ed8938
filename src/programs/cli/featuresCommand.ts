import { Effect } from "effect"
import { Command, Flag } from "effect/cli"
import { failOnBadLines, groupFlag, offlineFlag, parseIntervals } from "./chainFlags.ts"
import { LOW_VOLUME_PRODUCER, runRoleCommand } from "./roleCommand.ts"

/**
 * `marketflow features`: indicators and feature vectors, as the role on the bus
 * (market.candles.<base> -> features.<interval>) or with --offline as a filter
 * (candles JSONL on stdin -> feature vectors JSONL on stdout).
 */
export const featuresCommand = Command.make(
  "features",
  {
    offline: offlineFlag,
    intervals: Flag.String("intervals").pipe(
      Flag.withDescription("Feature intervals, base first (the base candles are read, larger ones rolled up)"),
      Flag.withDefault("1m,5m,15m,1h")
    ),
    group: groupFlag("features")
  },
  Effect.fn(function* (f) {
    const intervals = yield* parseIntervals("intervals", f.intervals)
    if (f.offline) {
      const { runFeaturesOffline } = yield* Effect.promise(() => import("../stages/OfflineTransforms.ts"))
      const report = yield* runFeaturesOffline({ intervals })
      return yield* failOnBadLines(report)
    }
    yield* runRoleCommand(
      { role: "features", needsSharedBus: true, defaults: LOW_VOLUME_PRODUCER },
      ({ profile, stop }) =>
        Effect.gen(function* () {
          const { runFeatures } = yield* Effect.promise(() => import("../roles/StreamRoles.ts"))
          yield* runFeatures({ group: f.group, intervals, stop, catalog: profile.catalog })
        })
    )
  })
).pipe(
  Command.withDescription(
    "Closed candles -> indicators (SMA, EMA, RSI, MACD, Bollinger, ATR, VWAP, realized volatility) and feature vectors. " +
      "Role (default, MF_PROFILE=live): market.candles.<base> -> features.<interval>. --offline: candles JSONL on stdin -> " +
      "feature vectors JSONL on stdout."
  ),
  Command.withExamples([
    { command: "MF_PROFILE=live marketflow features", description: "The features role" },
    {
      command: "marketflow candles --offline < trades.jsonl | marketflow features --offline",
      description: "Offline chain"
    }
  ])
)
