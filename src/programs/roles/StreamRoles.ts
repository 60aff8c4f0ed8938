import { Effect } from "effect"
import type { Interval } from "../../domain/Events.ts"
import type { TopicSpec } from "../../domain/Topics.ts"
import { TOPIC, topicCatalog } from "../../domain/Topics.ts"
import type { BusError } from "../../services/Bus.ts"
import { Bus } from "../../services/Bus.ts"
import type { Predictor } from "../../services/Predictor.ts"
import type { CandlesRoleOptions, CandlesRoleStats } from "../stages/CandlesRole.ts"
import { makeCandlesRole } from "../stages/CandlesRole.ts"
import type { FeaturesRoleOptions, FeaturesRoleStats } from "../stages/FeaturesRole.ts"
import { makeFeaturesRole } from "../stages/FeaturesRole.ts"
import type { SignalsRoleOptions, SignalsRoleStats } from "../stages/SignalsRole.ts"
import { makeSignalsRole } from "../stages/SignalsRole.ts"
import { reportHealth } from "./IngestRole.ts"

/**
 * The bus roles of the signal chain as programs: candles (`market.trades` ->
 * `market.candles.*`), features (`market.candles.<base>` -> `features.*`) and
 * signals (`features.*` -> `signals.*`). Each creates the topics it reads and
 * writes (idempotent), runs its stage until `stop` (RoleRunner) and returns the
 * stage's counters, which are also logged.
 */
const ensureTopics = (catalog: ReadonlyArray<TopicSpec> | undefined, names: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const bus = yield* Bus
    const specs = (catalog ?? topicCatalog()).filter((s) => names.includes(s.name))
    yield* bus.createTopics(specs)
    yield* reportHealth("bus", true, "topics ready")
  })

const DLQ = TOPIC.dlq("sink")

export interface WithCatalog {
  readonly catalog?: ReadonlyArray<TopicSpec> | undefined
}

export const runCandles = (options: CandlesRoleOptions & WithCatalog): Effect.Effect<CandlesRoleStats, BusError, Bus> =>
  Effect.gen(function* () {
    const base: Interval = options.interval ?? "1m"
    const intervals = [base, ...(options.rollUps ?? ["5m", "15m", "1h"])]
    yield* ensureTopics(options.catalog, [TOPIC.trades, DLQ, ...intervals.map((i) => TOPIC.candles(i))])
    const stats = yield* Effect.scoped(
      Effect.gen(function* () {
        const role = yield* makeCandlesRole(options)
        yield* Effect.logInfo(
          `candles: group ${options.group ?? "candles"}, ${TOPIC.trades} -> ${intervals.map((i) => TOPIC.candles(i)).join(", ")}`
        )
        yield* role.run
        return yield* role.stats
      })
    )
    yield* Effect.logInfo(
      `candles: ${stats.trades} trades, ${stats.candlesPublished} candles published, ${stats.late} late, ${stats.duplicate} duplicate`
    )
    return stats
  })

export const runFeatures = (
  options: FeaturesRoleOptions & WithCatalog
): Effect.Effect<FeaturesRoleStats, BusError, Bus> =>
  Effect.gen(function* () {
    const intervals = options.intervals ?? ["1m", "5m", "15m", "1h"]
    const base = intervals[0] ?? "1m"
    yield* ensureTopics(options.catalog, [TOPIC.candles(base), DLQ, ...intervals.map((i) => TOPIC.features(i))])
    const stats = yield* Effect.scoped(
      Effect.gen(function* () {
        const role = yield* makeFeaturesRole(options)
        yield* Effect.logInfo(
          `features: group ${options.group ?? "features"}, ${TOPIC.candles(base)} -> ${intervals.map((i) => TOPIC.features(i)).join(", ")}`
        )
        yield* role.run
        return yield* role.stats
      })
    )
    yield* Effect.logInfo(
      `features: ${stats.candles} candles, ${stats.vectorsPublished} vectors published (${stats.warmUpCandles} warm-up candles)`
    )
    return stats
  })

export const runSignals = (
  options: SignalsRoleOptions & WithCatalog
): Effect.Effect<SignalsRoleStats, BusError, Bus | Predictor> =>
  Effect.gen(function* () {
    const intervals = options.intervals ?? ["1m", "5m", "15m", "1h"]
    yield* ensureTopics(options.catalog, [
      ...intervals.map((i) => TOPIC.features(i)),
      DLQ,
      TOPIC.signals("raw"),
      TOPIC.signals("calibrated"),
      TOPIC.signals("filtered"),
      TOPIC.signals("final")
    ])
    const stats = yield* Effect.scoped(
      Effect.gen(function* () {
        const role = yield* makeSignalsRole(options)
        yield* Effect.logInfo(`signals: group ${options.group ?? "signals"}, features.* -> signals.*`)
        yield* role.run
        return yield* role.stats
      })
    )
    yield* Effect.logInfo(
      `signals: ${stats.vectors} vectors, ${stats.final} final signals, ${stats.predictorErrors} predictor errors`
    )
    return stats
  })
