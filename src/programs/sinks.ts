import { Config, Duration, Effect, Option } from "effect"
import { CANDLE_INTERVALS, TOPIC } from "../domain/Topics.ts"
import { Archive } from "../services/Archive.ts"
import type { Bus, BusError } from "../services/Bus.ts"
import { CandleStore } from "../services/CandleStore.ts"
import { LatestCache } from "../services/LatestCache.ts"
import type { SinkError } from "../services/SinkError.ts"
import { TickStore } from "../services/TickStore.ts"
import { archiveHandler, candleStoreHandler, latestCacheHandler, tickStoreHandler } from "./stages/sinkHandlers.ts"
import type { SinkHandler, SinkRunnerConfig, SinkStats } from "./stages/sinkRunner.ts"
import { runSink } from "./stages/sinkRunner.ts"

/**
 * The sink roles: `marketflow sink-clickhouse | sink-parquet | sink-postgres |
 * sink-redis`. Each is the shared runner over one store port; the layer that
 * provides the port (live or embedded) is chosen by the caller, e.g.
 *
 *   sinkClickhouse(stop).pipe(Effect.provide(ClickHouseTickStore.layerConfig))   (with a Bus)
 *
 * Tuning comes from MF_SINK_* variables (defaults per role below):
 * MF_SINK_TOPICS (comma-separated, replaces the role's topics), MF_SINK_GROUP,
 * MF_SINK_MAX_BATCH, MF_SINK_MAX_WAIT_MS, MF_SINK_RETRY_BASE_MS,
 * MF_SINK_RETRY_CAP_MS, MF_SINK_DEGRADED_AFTER_MS, MF_SINK_TICK_MS,
 * MF_SINK_SHUTDOWN_MS.
 * The `sink-*` commands run them as roles (sinkCommands.ts, RoleRunner): on
 * SIGINT/SIGTERM a role stops consuming, writes and commits what it holds (the
 * archive finishes its open files), then exits 0.
 */
export const candleTopics: ReadonlyArray<string> = CANDLE_INTERVALS.map((i) => TOPIC.candles(i))

export interface RoleDefaults {
  readonly name: string
  readonly topics: ReadonlyArray<string>
  readonly maxBatch: number
  readonly maxWaitMs: number
}

export const ROLES = {
  clickhouse: {
    name: "clickhouse",
    topics: [TOPIC.trades, TOPIC.quotes, TOPIC.book],
    maxBatch: 20_000,
    maxWaitMs: 1_000
  },
  parquet: {
    name: "parquet",
    topics: [TOPIC.trades, TOPIC.quotes, TOPIC.book, ...candleTopics],
    maxBatch: 20_000,
    maxWaitMs: 1_000
  },
  postgres: { name: "postgres", topics: candleTopics, maxBatch: 5_000, maxWaitMs: 500 },
  redis: {
    name: "redis",
    topics: [TOPIC.trades, TOPIC.quotes, ...candleTopics, TOPIC.signals("final")],
    maxBatch: 2_000,
    maxWaitMs: 100
  }
} as const satisfies Record<string, RoleDefaults>

const ms = (name: string, fallback: number) => Config.Int(name).pipe(Config.withDefault(fallback))

/** The runner configuration of a role, from MF_SINK_* over the role's defaults. */
export const roleConfig = (role: RoleDefaults) =>
  Config.all({
    topics: Config.String("MF_SINK_TOPICS").pipe(Config.withDefault(role.topics.join(","))),
    group: Config.String("MF_SINK_GROUP").pipe(Config.withDefault(`sink-${role.name}`)),
    maxBatch: Config.Int("MF_SINK_MAX_BATCH").pipe(Config.withDefault(role.maxBatch)),
    maxWaitMs: ms("MF_SINK_MAX_WAIT_MS", role.maxWaitMs),
    fetchWaitMs: Config.option(Config.Int("MF_SINK_FETCH_WAIT_MS")),
    retryBaseMs: ms("MF_SINK_RETRY_BASE_MS", 100),
    retryCapMs: ms("MF_SINK_RETRY_CAP_MS", 5_000),
    degradedAfterMs: ms("MF_SINK_DEGRADED_AFTER_MS", 30_000),
    tickMs: ms("MF_SINK_TICK_MS", 5_000),
    shutdownMs: ms("MF_SINK_SHUTDOWN_MS", 30_000)
  }).pipe(
    Config.map((c): SinkRunnerConfig & { readonly shutdownMs: number } => ({
      name: role.name,
      topics: c.topics
        .split(",")
        .map((t) => t.trim())
        .filter((t) => t.length > 0),
      group: c.group,
      maxBatch: c.maxBatch,
      maxWait: Duration.millis(c.maxWaitMs),
      ...(Option.isSome(c.fetchWaitMs) ? { fetchWaitMs: c.fetchWaitMs.value } : {}),
      retryBase: Duration.millis(c.retryBaseMs),
      retryCap: Duration.millis(c.retryCapMs),
      degradedAfter: Duration.millis(c.degradedAfterMs),
      tickEvery: Duration.millis(c.tickMs),
      shutdownMs: c.shutdownMs
    }))
  )

/**
 * Runs one sink until `stop` completes (RoleRunner: SIGINT/SIGTERM), then
 * writes, flushes and commits what it holds and returns its counters.
 */
const role = <R>(
  defaults: RoleDefaults,
  handler: Effect.Effect<SinkHandler, never, R>,
  stop: Effect.Effect<void> | undefined
): Effect.Effect<SinkStats, SinkError | BusError | Config.ConfigError, R | Bus> =>
  Effect.gen(function* () {
    const config = yield* roleConfig(defaults)
    const h = yield* handler
    yield* Effect.logInfo(
      `sink ${config.name}: group ${config.group}, topics ${config.topics.join(", ")}, batch ${config.maxBatch} / ${Duration.toMillis(config.maxWait)} ms`
    )
    const stats = yield* runSink(config, h, stop === undefined ? {} : { stop })
    yield* Effect.logInfo(
      `sink ${config.name}: ${stats.records} records, ${stats.written} written, ${stats.ignored} ignored, ${stats.dlq} dead-lettered, ${stats.commits} commits`
    )
    return stats
  })

/** Raw trades, quotes and book updates into the TickStore (ClickHouse). */
export const sinkClickhouse = (stop?: Effect.Effect<void>) =>
  role(ROLES.clickhouse, Effect.map(TickStore, tickStoreHandler), stop)

/** Everything market-data into the Parquet archive. */
export const sinkParquet = (stop?: Effect.Effect<void>) =>
  role(ROLES.parquet, Effect.map(Archive, archiveHandler), stop)

/** Candles of every interval into the CandleStore (Postgres / TimescaleDB). */
export const sinkPostgres = (stop?: Effect.Effect<void>) =>
  role(ROLES.postgres, Effect.map(CandleStore, candleStoreHandler), stop)

/** Latest trade/quote/candle and final signals into the LatestCache (Redis). */
export const sinkRedis = (stop?: Effect.Effect<void>) =>
  role(ROLES.redis, Effect.map(LatestCache, latestCacheHandler), stop)
