import { Effect, Option } from "effect"
import { Command, Flag } from "effect/cli"
import {
  failOnBadLines,
  groupFlag,
  INTERVALS,
  inputFormat,
  offlineFlag,
  parseIntervals,
  parseLateness,
  recordingExchangeFlag
} from "./chainFlags.ts"
import { LOW_VOLUME_PRODUCER, runRoleCommand } from "./roleCommand.ts"

/**
 * `marketflow candles`: the candles role on the bus (market.trades ->
 * market.candles.<interval>), or with --offline the same aggregation as a
 * filter: normalized trades (JSONL) on stdin -> closed candles on stdout.
 */
export const candlesCommand = Command.make(
  "candles",
  {
    offline: offlineFlag,
    interval: Flag.Literals("interval", INTERVALS).pipe(
      Flag.withDescription("Base interval of the aggregation"),
      Flag.withDefault("1m")
    ),
    rollUps: Flag.String("roll-ups").pipe(
      Flag.withDescription(
        "Comma-separated larger intervals rolled up from the base (role default 5m,15m,1h; offline: none)"
      ),
      Flag.optional
    ),
    lateness: Flag.String("lateness").pipe(
      Flag.withDescription("Allowed lateness in event time, e.g. 2s (role default 2s, offline 5s)"),
      Flag.optional
    ),
    exchange: recordingExchangeFlag,
    group: groupFlag("candles"),
    emitUpdates: Flag.Boolean("emit-updates").pipe(
      Flag.withDescription("Role: also publish open candles (closed: false) as they change"),
      Flag.withDefault(false)
    )
  },
  Effect.fn(function* (f) {
    const rollUps = Option.isSome(f.rollUps) ? yield* parseIntervals("roll-ups", f.rollUps.value) : undefined
    const lateness = yield* parseLateness(f.lateness)
    if (f.offline) {
      const { runCandlesOffline } = yield* Effect.promise(() => import("../stages/OfflineTransforms.ts"))
      const report = yield* runCandlesOffline({
        interval: f.interval,
        input: inputFormat(f.exchange),
        ...(rollUps === undefined ? {} : { rollUps }),
        ...(lateness === undefined ? {} : { allowedLatenessMicros: lateness })
      })
      return yield* failOnBadLines(report)
    }
    yield* runRoleCommand(
      { role: "candles", needsSharedBus: true, defaults: LOW_VOLUME_PRODUCER },
      ({ profile, stop }) =>
        Effect.gen(function* () {
          const { runCandles } = yield* Effect.promise(() => import("../roles/StreamRoles.ts"))
          yield* runCandles({
            group: f.group,
            interval: f.interval,
            emitUpdates: f.emitUpdates,
            stop,
            catalog: profile.catalog,
            ...(rollUps === undefined ? {} : { rollUps }),
            ...(lateness === undefined ? {} : { allowedLatenessMicros: lateness })
          })
        })
    )
  })
).pipe(
  Command.withDescription(
    "Trades -> OHLCV candles in event time. Role (default): consumer group on market.trades -> market.candles.<interval> " +
      "on the live profile (MF_PROFILE=live). --offline: normalized trades JSONL on stdin -> closed candles JSONL on stdout " +
      "(bad lines on stderr, exit 65)."
  ),
  Command.withExamples([
    {
      command: "MF_PROFILE=live marketflow candles",
      description: "The candles role: 1m candles rolled up to 5m, 15m, 1h"
    },
    {
      command: "marketflow candles --offline --interval 1m < trades.jsonl > candles.jsonl",
      description: "Offline, from `marketflow normalize` output"
    },
    {
      command: "marketflow candles --offline --exchange binance < session.jsonl",
      description: "Offline, straight from a Binance recording"
    }
  ])
)
