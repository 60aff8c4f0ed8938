import type { Config as ConfigType } from "effect"
import { Config, Duration, Effect } from "effect"
import { Command } from "effect/cli"
import { runRoleCommand, ShutdownTimeoutConfig } from "./roleCommand.ts"

/**
 * `marketflow sink-clickhouse | sink-parquet | sink-postgres | sink-redis`: one
 * consumer-group member writing one store, as a role like the others
 * (roleCommand.ts): every bad variable reported at start-up, the bus of the
 * profile (live unless MF_PROFILE says otherwise: a sink reads what other
 * processes publish), MF_TOPIC_PREFIX, telemetry (metrics, health, spans), and
 * on SIGINT/SIGTERM a graceful stop (stop consuming, write, flush, commit,
 * close, exit 0) within MF_SINK_SHUTDOWN_MS, else MF_SHUTDOWN_TIMEOUT. The store
 * comes from its MF_* variables (`scripts/services env` prints them), the runner
 * is tuned by MF_SINK_* (see src/programs/sinks.ts). Programs and drivers load
 * only when the command runs.
 */
const sinks = Effect.promise(() => import("../sinks.ts"))

const env =
  "Kafka from MF_KAFKA_BROKERS (MF_PROFILE defaults to live); tuning from MF_SINK_* (topics, group, batch size and wait, retry backoff, shutdown)"

/** MF_SINK_SHUTDOWN_MS when set (kept for existing deployments), else the roles' MF_SHUTDOWN_TIMEOUT. */
const SinkShutdownConfig: ConfigType.Config<Duration.Duration> = Config.Int("MF_SINK_SHUTDOWN_MS").pipe(
  Config.map((ms) => Duration.millis(ms)),
  Config.orElse(() => ShutdownTimeoutConfig)
)

const runSinkRole = <E, R>(
  role: string,
  configs: ReadonlyArray<ConfigType.Config<unknown>>,
  program: (stop: Effect.Effect<void>) => Effect.Effect<unknown, E, R>
) =>
  runRoleCommand(
    { role, needsSharedBus: true, defaultProfile: "live", configs, shutdownTimeout: SinkShutdownConfig },
    ({ stop }) => Effect.asVoid(program(stop))
  )

export const sinkClickhouseCommand = Command.make("sink-clickhouse", {}, () =>
  Effect.gen(function* () {
    const [{ ROLES, roleConfig, sinkClickhouse }, store] = yield* Effect.all([
      sinks,
      Effect.promise(() => import("../../layers/sinks/ClickHouseTickStore.ts"))
    ])
    yield* runSinkRole("sink-clickhouse", [roleConfig(ROLES.clickhouse), store.ClickHouseConfig], (stop) =>
      sinkClickhouse(stop).pipe(Effect.provide(store.layerConfig))
    )
  })
).pipe(
  Command.withDescription(
    `Raw trades, quotes and book updates -> ClickHouse (MF_CLICKHOUSE_URL/USER/PASSWORD/DATABASE), with a 1-minute OHLCV view. ${env}`
  )
)

export const sinkParquetCommand = Command.make("sink-parquet", {}, () =>
  Effect.gen(function* () {
    const [{ ROLES, roleConfig, sinkParquet }, store] = yield* Effect.all([
      sinks,
      Effect.promise(() => import("../../layers/sinks/ParquetArchive.ts"))
    ])
    yield* runSinkRole("sink-parquet", [roleConfig(ROLES.parquet), store.ParquetConfig], (stop) =>
      sinkParquet(stop).pipe(Effect.provide(store.layerConfig))
    )
  })
).pipe(
  Command.withDescription(
    `Market data -> hive-partitioned zstd Parquet under MF_ARCHIVE_DIR (rotation: MF_ARCHIVE_MAX_ROWS/MAX_BYTES/MAX_AGE_MS). ${env}`
  )
)

export const sinkPostgresCommand = Command.make("sink-postgres", {}, () =>
  Effect.gen(function* () {
    const [{ ROLES, roleConfig, sinkPostgres }, store] = yield* Effect.all([
      sinks,
      Effect.promise(() => import("../../layers/sinks/PostgresCandleStore.ts"))
    ])
    yield* runSinkRole("sink-postgres", [roleConfig(ROLES.postgres), store.PostgresConfig], (stop) =>
      sinkPostgres(stop).pipe(Effect.provide(store.layerConfig))
    )
  })
).pipe(
  Command.withDescription(
    `Candles of every interval -> Postgres or TimescaleDB (MF_PG_URL, MF_PG_SCHEMA); hypertable when TimescaleDB is there. ${env}`
  )
)

export const sinkRedisCommand = Command.make("sink-redis", {}, () =>
  Effect.gen(function* () {
    const [{ ROLES, roleConfig, sinkRedis }, store] = yield* Effect.all([
      sinks,
      Effect.promise(() => import("../../layers/sinks/RedisLatestCache.ts"))
    ])
    yield* runSinkRole("sink-redis", [roleConfig(ROLES.redis), store.RedisConfig], (stop) =>
      sinkRedis(stop).pipe(Effect.provide(store.layerConfig))
    )
  })
).pipe(
  Command.withDescription(
    `Latest trade/quote/candle per exchange:symbol and final signals (TTL, pub/sub) -> Redis (MF_REDIS_URL, MF_REDIS_PREFIX). ${env}`
  )
)
